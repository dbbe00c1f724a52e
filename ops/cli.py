"""The ``oppbus`` command line: ``up``, ``worker``, ``api``, ``demo``, ``bench``.

Every command builds one frozen Settings object from its flags and ``OPPBUS_*`` env vars and
passes it down. Errors a user can fix are printed as one line (``oppbus: error: ...``), exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ops.settings_help import settings_epilog
from streams.settings import Settings, load_settings

__all__ = ["build_parser", "main"]

EPILOG = settings_epilog()


class UserError(Exception):
    """A problem the user can fix; printed as one line without a traceback."""


def _add_broker_flags(p: argparse.ArgumentParser, *, embedded: bool) -> None:
    p.add_argument(
        "--broker",
        metavar="URL",
        help="kafka://host:port of an existing Kafka"
        + (" (skips the embedded broker)" if embedded else " (default kafka://127.0.0.1:9092)"),
    )
    if embedded:
        p.add_argument(
            "--broker-port", type=int, metavar="PORT", help="embedded broker port (default 9092)"
        )
        p.add_argument(
            "--data",
            dest="data_dir",
            type=Path,
            metavar="DIR",
            help="keep the embedded broker's data in DIR across restarts (default: memory)",
        )
    p.add_argument("--partitions", type=int, metavar="N", help="partitions per bus topic (4)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None)


def _add_http_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--http-port", type=int, metavar="PORT", help="HTTP API port (default 8080)")
    p.add_argument("--http-host", metavar="HOST", help="HTTP bind address (default 127.0.0.1)")


def _settings(args: argparse.Namespace) -> Settings:
    flags = {k: v for k, v in vars(args).items() if k not in {"func", "command"}}
    try:
        settings = load_settings(flags)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UserError(f"invalid setting {field}: {first['msg']}") from exc
    if settings.extra_capabilities:  # OPPBUS_EXTRA_CAPABILITIES extends the taxonomy
        from schemas.taxonomy import register_capabilities

        register_capabilities(settings.extra_capabilities)
    return settings


def _bus_settings(args: argparse.Namespace, *, standalone: bool) -> Settings:
    """Settings of a bus process, with the keys the bus's processes share (ops/keys.py).

    ``up`` may invent keys only for its embedded broker: an existing Kafka outlives one run, and
    records signed and sealed with one run's keys must stay readable by the next."""
    import os

    from ops.keys import MissingKey, provision_keys

    settings = _settings(args)
    try:
        return provision_keys(settings, os.environ, standalone=standalone or not settings.embedded)
    except MissingKey as exc:
        raise UserError(str(exc)) from exc


def _cmd_up(args: argparse.Namespace) -> int:
    from ops.up import run_up

    return run_up(_bus_settings(args, standalone=False))


def _cmd_worker(args: argparse.Namespace) -> int:
    from ops.worker import run_worker

    run_worker(_bus_settings(args, standalone=True))
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    from ops.api import run_api

    run_api(_bus_settings(args, standalone=True))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from ops.bench import BENCHES

    module = importlib.import_module(BENCHES[args.bench_name])
    figures: dict[str, Any] = module.run(args)
    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps({"bench": args.bench_name, **figures}).decode() + "\n")
    else:
        for key, value in figures.items():
            print(f"{key:>32}: {value}")
    if args.append_results is not None:
        _append_results(args, figures)
    return 0


def _append_results(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from ops.bench.results import append_result, result_line

    skip = {"func", "command", "bench_name", "json", "append_results"}
    options = {k: v for k, v in vars(args).items() if k not in skip}
    line = result_line(args.bench_name, figures, options, datetime.now(UTC))
    try:
        append_result(args.append_results, line)
    except OSError as exc:
        raise UserError(f"cannot append the results: {exc}") from exc
    print(f"appended to {args.append_results}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oppbus",
        description="oppbus: route partner opportunities to complementary, non-competing "
        "partners over Kafka.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_: str, func: Callable[[argparse.Namespace], int]) -> Any:
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    up = add(
        "up",
        "Run everything in one command: the embedded broker (unless --broker), a worker, the "
        "HTTP API and metrics. Ctrl-C stops all of it.",
        _cmd_up,
    )
    _add_broker_flags(up, embedded=True)
    _add_http_flags(up)

    worker = add("worker", "Run one stream-processing worker against --broker.", _cmd_worker)
    _add_broker_flags(worker, embedded=False)
    _add_http_flags(worker)

    api = add("api", "Serve the HTTP API (and /metrics) against --broker.", _cmd_api)
    _add_broker_flags(api, embedded=False)
    _add_http_flags(api)

    from ops.bench import BENCHES
    from ops.bench.results import DEFAULT_RESULTS

    bench = add("bench", "Run a benchmark and print its figures.", _cmd_bench)
    names = bench.add_subparsers(dest="bench_name", metavar="NAME", required=True)
    for name, module_path in sorted(BENCHES.items()):
        module = importlib.import_module(module_path)
        bp = names.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION)
        bp.add_argument("--json", action="store_true", help="print the figures as one JSON line")
        bp.add_argument(
            "--append-results",
            nargs="?",
            const=DEFAULT_RESULTS,
            type=Path,
            metavar="FILE",
            help=f"append the figures as one dated JSON line to FILE (default {DEFAULT_RESULTS}, "
            "run from the repository root)",
        )
        module.add_arguments(bp)

    from ops.commands import register_extra

    register_extra(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"oppbus: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
