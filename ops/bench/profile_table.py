"""Where a routed opportunity's CPU goes: py-spy's raw stacks grouped into the pipeline's steps.

``docs/performance.md`` (pipeline, profile) says how the stacks are recorded: py-spy attached to
``oppbus bench pipeline`` while it routes (``py-spy record --pid PID --nonblocking -f raw -o
FILE``). Each sample is put in the first step of :data:`STEPS` whose patterns all occur in its
stack (a pattern ``a|b`` needs both ``a`` and ``b``); samples whose leaf waits in ``select`` are
idle and left out; the busy samples are scaled to the CPU per opportunity the bench measured::

    python -m ops.bench.profile_table STACKS.txt CPU_US_PER_OPPORTUNITY
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = ["STEPS", "main", "step_of", "table"]

# (step, patterns): the first match wins, so the router's steps come before its catch-all
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bench publisher (input side)", ("_send_all (ops/bench", "_encoded (ops/bench")),
    ("router: MAC check", ("RecordAuth.check (|RouterAgent._handle",)),
    (
        "router: decode + validate",
        ("decode (schemas/codec.py|RouterAgent._handle", "validate_stored"),
    ),
    ("router: rank", ("make_ranker.<locals>.rank",)),
    ("router: offer events (build + encode)", ("effect_events", "Router._publish")),
    ("router: customer claims", ("ClaimRegistry",)),
    ("router: MAC stamp", ("RecordAuth.stamp|RouterAgent.process",)),
    (
        "router: state rows (changelog)",
        ("ChangelogWriter|RouterAgent.process", "Pending", "deadlines"),
    ),
    (
        "router: produce",
        ("Producer.send|RouterAgent.process", "AIOKafkaProducer.send|RouterAgent.process"),
    ),
    ("router: rest of the batch loop", ("RouterAgent.process", "register_router.<locals>.route")),
    ("scorecards", ("register_scorecards",)),
    ("fee keeper", ("fees/keeper",)),
    ("webhooks", ("connectors/webhooks",)),
    ("ingress", ("connectors/ingress",)),
    ("views (directory, stats, claims, policy, partnerships)", ("GlobalView", "topic_view")),
    (
        "consumers: fetch (Faust's consumer thread and the others)",
        ("WorkerThread.run", "Fetcher", "fetcher.py", "getmany"),
    ),
    (
        "producer: requests (aiokafka sender)",
        ("aiokafka/producer/sender", "aiokafka/conn.py", "aiokafka/client.py"),
    ),
    ("event loop (uvloop, in C)", ("Runner.run (asyncio/runners.py:118)",)),
    ("Faust and mode (agents, streams, acks)", ("faust/", "mode/")),
)
OTHER = "other"


def step_of(stack: str) -> str:
    for name, patterns in STEPS:
        if any(all(part in stack for part in p.split("|")) for p in patterns):
            return name
    return OTHER


def _idle(leaf: str) -> bool:
    return "select (" in leaf and "selectors" in leaf


def table(lines: Iterable[str], cpu_us: float) -> list[tuple[str, float, float]]:
    """(step, µs per opportunity, share of the busy samples) for every step, in order."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, n = line.rstrip().rpartition(" ")
        if not stack or not n.isdigit() or _idle(stack.rsplit(";", 1)[-1]):
            continue
        counts[step_of(stack)] += int(n)
    busy = sum(counts.values()) or 1
    return [
        (name, counts[name] / busy * cpu_us, counts[name] / busy)
        for name in [*(s for s, _ in STEPS), OTHER]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as stacks:
        rows = table(stacks, float(args[1]))
    print("| step | µs per routed opportunity | share |\n|---|---:|---:|")
    for name, us, share in rows:
        print(f"| {name} | {us:.0f} | {share * 100:.1f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
