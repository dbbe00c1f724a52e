"""Further subcommands (``demo``, ``schemas``, ...): each lands as one entry here.

``register_extra(add)`` is called by the parser builder with ``add(name, help, func) -> parser``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["register_extra"]

Add = Callable[[str, str, Callable[[argparse.Namespace], int]], Any]


def _cmd_demo(args: argparse.Namespace) -> int:
    import sys

    from pydantic import ValidationError

    from ops.demo import DemoError, run_demo
    from streams.settings import load_settings

    flags = {
        "broker": args.broker,
        "broker_port": args.broker_port,
        "http_port": args.http_port,
        "http_host": args.http_host,
        "log_level": args.log_level,
    }
    try:
        settings = load_settings(flags)
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"oppbus: error: invalid setting {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return 2
    try:
        return run_demo(
            settings,
            api_url=args.api,
            admin_token=args.admin_token,
            keep_running=not args.exit,
        )
    except DemoError as exc:  # one line, like the CLI's other user-facing errors
        print(f"oppbus: error: demo: {exc}", file=sys.stderr)
        return 1


def _add_demo(add: Add) -> None:
    p = add(
        "demo",
        "A seeded story: six partners register, a networking VAR shares a storage opportunity, "
        "the router offers it to a storage specialist, who declines; it is re-offered, accepted "
        "and won. Starts a bus like `up` (kept running for the status page) unless --api is given.",
        _cmd_demo,
    )
    p.add_argument(
        "--api", metavar="URL", help="use the running bus at URL (e.g. http://127.0.0.1:8080)"
    )
    p.add_argument(
        "--admin-token", metavar="TOKEN", help="admin token of that bus (else OPPBUS_ADMIN_TOKEN)"
    )
    p.add_argument("--exit", action="store_true", help="stop the started bus when the story ends")
    p.add_argument("--broker", metavar="URL", help="kafka://host:port for the started bus")
    p.add_argument("--broker-port", type=int, metavar="PORT", help="embedded broker port (9092)")
    p.add_argument("--http-port", type=int, metavar="PORT", help="HTTP API port (8080)")
    p.add_argument("--http-host", metavar="HOST", help="HTTP bind address (127.0.0.1)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None)


def _flag_settings(args: argparse.Namespace) -> Any:
    """The settings of a subcommand's flags (``None`` flags fall back to env and defaults)."""
    from streams.settings import load_settings

    return load_settings({k: v for k, v in vars(args).items() if k not in {"func", "command"}})


def _run_with_settings(args: argparse.Namespace, label: str, run: Any, errors: Any) -> int:
    """``run(args, settings)``; a bad setting or one of ``errors`` is one line, exit 2."""
    import os
    import sys

    from pydantic import ValidationError

    from ops.keys import MissingKey, provision_keys
    from schemas.field_crypto import fresh_keyring

    try:
        # the bus's keys (env or data dir): to sign what is published, to open what is read
        settings = provision_keys(_flag_settings(args), os.environ, standalone=False)
        with fresh_keyring():  # this command's keys, gone with it (the CLI runs in tests too)
            settings.install_data_keys()
            return int(run(args, settings))
    except MissingKey as exc:
        print(f"oppbus: error: {label}: {exc}", file=sys.stderr)
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"oppbus: error: invalid setting {first['loc'][0]}: {first['msg']}", file=sys.stderr)
    except errors as exc:  # refused: nothing was published
        print(f"oppbus: error: {label}: {exc}", file=sys.stderr)
    return 2


def _cmd_policy(args: argparse.Namespace) -> int:
    from ops import policy_command
    from streams.policy import PolicyError

    return _run_with_settings(args, "policy", policy_command.run, PolicyError)


def _cmd_replay(args: argparse.Namespace) -> int:
    from ops.replay import command
    from streams.policy import PolicyError

    return _run_with_settings(args, "replay", command.run, (PolicyError, command.ReplayError))


def register_extra(add: Add) -> None:
    from ops import schemas_command

    schemas_command.add_arguments(
        add(
            "schemas",
            "Generate, check or validate the contract documents (JSON Schema per event, "
            "AsyncAPI 3.0) and event data.",
            schemas_command.run,
        )
    )
    _add_demo(add)
    from ops import policy_command
    from ops.replay import command as replay_command

    policy_command.add_arguments(
        add(
            "policy",
            "Show the routing policy in force, or apply a TOML document as its next version "
            "(running workers take it without restart).",
            _cmd_policy,
        )
    )
    replay_command.add_arguments(
        add(
            "replay",
            "What-if: replay the history on the log against a candidate routing policy and "
            "report what would change (publishes nothing).",
            _cmd_replay,
        )
    )
    from ops import fees_command

    fees_command.add_arguments(
        add("fees", "The fee ledger: `fees verify` recomputes every fee.", fees_command.run)
    )
    from ops import webhooks_command

    webhooks_command.add_arguments(
        add(
            "webhooks",
            "The operator's dead webhook deliveries: `webhooks dead` lists them, "
            "`webhooks redrive ID` delivers one again (once, same webhook-id).",
            webhooks_command.run,
        )
    )
    _add_kafka_acls(add)
    _add_seal_secret(add)


def _cmd_seal_secret(args: argparse.Namespace) -> int:
    import os
    import sys

    from ops.keys import MissingKey, provision_keys
    from schemas.field_crypto import fresh_keyring, seal_secret
    from streams.settings import load_settings

    try:
        settings = provision_keys(
            load_settings({"data_dir": args.data_dir}), os.environ, standalone=True
        )
    except MissingKey as exc:
        print(f"oppbus: error: {exc}", file=sys.stderr)
        return 2
    secret = sys.stdin.readline().rstrip("\n")
    if not secret:
        print("oppbus: error: give the secret on standard input", file=sys.stderr)
        return 2
    with fresh_keyring():
        settings.install_data_keys()
        print(seal_secret(secret, args.purpose))
    return 0


def _add_seal_secret(add: Add) -> None:
    from pathlib import Path

    p = add(
        "seal-secret",
        "Seal a secret read from standard input with the bus's data keys (OPPBUS_DATA_KEYS or "
        "--data DIR) for a config file, e.g. a CRM client secret: prints encv1:...",
        _cmd_seal_secret,
    )
    p.add_argument("--purpose", required=True, choices=["crm.hubspot", "crm.salesforce"])
    p.add_argument("--data", dest="data_dir", type=Path, metavar="DIR", help="the bus's data dir")


def _cmd_kafka_acls(args: argparse.Namespace) -> int:
    from ops.kafka_acls import script

    print(script(args.prefix), end="")
    return 0


def _add_kafka_acls(add: Add) -> None:
    p = add(
        "kafka-acls",
        "Print the Kafka setup script (SCRAM users and ACLs per process role, from the topic "
        "catalogue) that the compose stack's kafka-setup service runs: ops/kafka/acls.sh.",
        _cmd_kafka_acls,
    )
    p.add_argument("--prefix", default="oppbus", help="topic prefix and app id (oppbus)")
