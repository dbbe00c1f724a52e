"""``oppbus bench replay``: what-if replays per second, with both policies, by directory size.

For each size (default 10k and 100k partners) it generates a history (:mod:`ops.bench.replay_data`:
profiles, scorecards, policy version 1, opportunities routed and answered) and replays it with
:class:`streams.replay.Replay` (the pure replay ``oppbus replay`` runs once it has read the log):

- ``replayed_per_s``: opportunities replayed per second with the policy in force *and* a candidate
  that changes the weights (two routings per opportunity, plus the directory, scorecards and
  outcomes folded as they come), on one core (CPU time of the thread: ``cpu_replayed_per_s``);
- the baseline of the same run: the candidate equal to the policy in force (one routing per
  opportunity), ``baseline_replayed_per_s``;
- ``load_cpu_s``: folding the state the window opens on (every profile, scorecard and policy
  before the first opportunity), timed apart: it depends on the directory, not on the window.

Reading and decoding the log is not included (it is the broker's and the codec's speed, see
``bench broker`` and ``bench codec``). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Any

from ops.bench.replay_data import History, history
from schemas.opportunity import Opportunity
from streams.policy import DEFAULT_POLICY, weights_from_mapping, weights_to_mapping
from streams.replay import Replay
from streams.routing import Weights

__all__ = ["CANDIDATE", "DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "What-if replay throughput (opportunities/s, both policies, one core) on generated "
    "histories of 10k/100k partners, with the single-policy baseline."
)

# The candidate of the bench: busy partners yield more, history counts less.
CANDIDATE: Weights = weights_from_mapping(
    {**weights_to_mapping(DEFAULT_POLICY.weights), "load": 3.5, "acceptance": 1.0, "win": 1.0}
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="10000,100000", help="directory sizes, comma-separated")
    parser.add_argument("--opportunities", type=int, default=10_000, help="per size")


def _progress(message: str) -> None:
    print(f"bench replay: {message}", file=sys.stderr, flush=True)


def _replay(hist: History, candidate: Weights) -> tuple[dict[str, Any], Replay]:
    """Replay ``hist``: the state before the first opportunity (the directory, scorecards and
    policy as the log holds them when the window opens) is timed apart from the replay proper
    (the opportunities, with the updates and outcomes that come between them)."""
    events, recorded = hist
    replay = Replay(candidate, recorded=recorded)
    feed = replay.feed
    first = next(i for i, (_at, e) in enumerate(events) if isinstance(e, Opportunity))
    gc.collect()
    start_cpu = time.thread_time()
    for at, event in events[:first]:
        feed(at, event)
    load_cpu = time.thread_time() - start_cpu
    start, start_cpu = time.perf_counter(), time.thread_time()
    for at, event in events[first:]:
        feed(at, event)
    cpu = time.thread_time() - start_cpu
    wall = time.perf_counter() - start
    figures = {
        "replayed": replay.replayed,
        "events": len(events),
        "load_cpu_s": round(load_cpu, 2),
        "s": round(wall, 3),
        "per_s": round(replay.replayed / wall),
        "cpu_per_s": round(replay.replayed / cpu) if cpu > 0 else None,
    }
    return figures, replay


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    figures: dict[str, Any] = {
        "sizes": sizes,
        "opportunities": args.opportunities,
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    for size in sizes:
        _progress(f"{size} partners: generating a history of {args.opportunities} opportunities")
        hist = history(size, args.opportunities)
        _progress(f"{size} partners: replaying with both policies")
        both, replay = _replay(hist, CANDIDATE)
        _progress(f"{size} partners: replaying with the policy in force only (baseline)")
        base, base_replay = _replay(hist, DEFAULT_POLICY.weights)
        report = replay.report()
        key = f"n{size}"
        figures[f"{key}_replayed"] = both["replayed"]
        figures[f"{key}_events"] = both["events"]
        figures[f"{key}_replayed_per_s"] = both["per_s"]
        figures[f"{key}_cpu_replayed_per_s"] = both["cpu_per_s"]
        figures[f"{key}_baseline_replayed_per_s"] = base["per_s"]
        figures[f"{key}_baseline_cpu_replayed_per_s"] = base["cpu_per_s"]
        figures[f"{key}_load_cpu_s"] = both["load_cpu_s"]
        figures[f"{key}_first_choices_changed"] = report["first_choices_changed"]
        figures[f"{key}_decisions_changed"] = report["decisions_changed"]
        figures[f"{key}_reproduced"] = base_replay.reproduced
        figures[f"{key}_compared"] = base_replay.compared
        _progress(
            f"{size} partners: {both['per_s']} replayed/s with both policies "
            f"(cpu {both['cpu_per_s']}/s); baseline {base['per_s']}/s"
        )
        del hist, replay, base_replay
    figures["replayed_per_s"] = figures[f"n{sizes[0]}_replayed_per_s"]
    figures["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    return figures
