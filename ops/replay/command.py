"""``oppbus replay --policy FILE``: what a candidate routing policy would have changed.

Reads the history from the bus at ``--broker`` (no consumer group; nothing is published), replays
every opportunity published in ``[--since, --until]`` with the policy then in force and with the
candidate (``streams.replay``), and prints the report: a summary, or with ``--json`` one JSON object
on the last line of stdout; ``--report FILE.html`` also writes it as one self-contained HTML page.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ops.replay.progress import ProgressBar
from ops.replay.reader import read_history
from ops.replay.report_html import render
from streams.policy import PolicyError, parse_toml, weights_to_mapping
from streams.replay import Replay, recorded_routing
from streams.settings import Settings

__all__ = ["ReplayError", "add_arguments", "replay_history", "run"]


class ReplayError(Exception):
    """A replay that cannot run (bad window, unreadable file); one line for the user."""


def _instant(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReplayError(f"{flag}: not an ISO 8601 date or time: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a bare date or time is UTC
    return moment.timestamp()


def replay_history(
    events: list[tuple[float, Any]],
    replay: Replay,
    progress: ProgressBar | None = None,
) -> float:
    """Feed ``events`` to ``replay``; the seconds it took."""
    recorded = recorded_routing(e for _t, e in events)
    replay.recorded = recorded
    start = time.perf_counter()
    total = len(events)
    feed = replay.feed
    for i, (at, event) in enumerate(events, start=1):
        feed(at, event)
        if progress is not None and i % 2048 == 0:
            progress(i, total)
    if progress is not None:
        progress(total, total)
    return time.perf_counter() - start


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.policy)
    try:
        candidate = parse_toml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read {path}: {exc}") from exc
    since, until = _instant(args.since, "--since"), _instant(args.until, "--until")
    if since is not None and until is not None and since > until:
        raise ReplayError("--since is after --until")
    history = asyncio.run(read_history(settings, progress=ProgressBar("reading the log")))
    events = history.events()
    replay = Replay(candidate, since=since, until=until)
    seconds = replay_history(events, replay, ProgressBar("replaying"))
    report: dict[str, Any] = {
        **replay.report(),
        "window": {"since": args.since, "until": args.until},
        "candidate": {"file": path.name, "weights": weights_to_mapping(candidate)},
        "in_force": replay.policies.version,
        "records_read": history.read,
        "undecodable": dict(history.undecodable),
        "replay_s": round(seconds, 3),
        "replayed_per_s": round(replay.replayed / seconds) if seconds > 0 else None,
    }
    if args.report:
        Path(args.report).write_text(render(report), encoding="utf-8")
    if args.json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    else:
        _summary(report, args.report)
    return 0


def _summary(report: dict[str, Any], html: str | None) -> None:
    unroutable, spread, exp = report["unroutable"], report["spread"], report["expected"]
    rep = report["reproduction"]
    lines = [
        f"replayed {report['replayed']} opportunities "
        f"(policy in force now: version {report['in_force']})",
        f"decisions changed: {report['decisions_changed']}, "
        f"first choices changed: {report['first_choices_changed']}",
        f"unroutable: {unroutable['before']['count']} -> {unroutable['after']['count']}",
        f"busiest partner's share: {spread['before']['busiest_share']:.1%} -> "
        f"{spread['after']['busiest_share']:.1%}; Gini {spread['before']['gini']} -> "
        f"{spread['after']['gini']}; never offered {spread['before']['never_offered']} -> "
        f"{spread['after']['never_offered']}",
        f"expected acceptances {exp['before']['accepted']} -> {exp['after']['accepted']}, "
        f"wins {exp['before']['won']} -> {exp['after']['won']}",
        f"replay vs live: {rep['reproduced']} of {rep['compared']} first choices reproduced"
        + (f"; differences {rep['differences']}" if rep["differences"] else ""),
    ]
    if html:
        lines.append(f"report written to {html}")
    print("\n".join(lines))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, metavar="FILE", help="candidate policy (TOML)")
    parser.add_argument("--since", metavar="ISO", help="replay opportunities published from then")
    parser.add_argument("--until", metavar="ISO", help="... and until then (UTC when no offset)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML")
    parser.add_argument("--broker", metavar="URL", help="kafka://host:port of the bus")
    parser.add_argument("--broker-port", type=int, metavar="PORT", help="embedded broker port")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None)
