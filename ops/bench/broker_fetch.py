"""``oppbus bench broker``: what one fetch costs the embedded broker as a partition's log grows.

Tansu 0.6.0's storage (``memory://`` and ``s3://`` alike) keeps each produced batch as one object
and answers a fetch by listing every batch object of the partition first, so the cost of a fetch
that finds new data grows with the number of batches stored in that partition — not with what it
returns. A long run at a steady rate therefore slows the broker down linearly with time (what
``oppbus bench soak`` runs into, docs/embedded-broker.md). This bench shows it on a fresh embedded broker:

for each log length in ``--sizes``, a one-partition topic gets that many single-record batches
(one ``send_and_wait`` each, the shape of API requests), then ``--fetches`` fetches of its last
record are timed (wall time per fetch, and the broker's CPU per fetch from ``/proc``); a topic of
one batch is fetched the same way as the floor. At the largest size the same number of records
is also written in batches of ``--batch`` records, which costs as little as its batch count.
Figures: ms per fetch at each size, and the fitted broker CPU per stored batch (µs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.bench.probes import cpu_seconds
from ops.broker import EmbeddedBroker

__all__ = ["DESCRIPTION", "add_arguments", "run", "slope"]

DESCRIPTION = (
    "Cost of one fetch on the embedded broker (Tansu) as a partition's log grows: wall and broker "
    "CPU per fetch at several log lengths, single-record batches next to batched writes."
)

_VALUE = b"x" * 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000, 5_000, 20_000],
        help="log lengths in batches (1000 5000 20000)",
    )
    parser.add_argument("--fetches", type=int, default=200, help="fetches timed per size (200)")
    parser.add_argument(
        "--batch", type=int, default=100, help="records per batch of the batched topic (100)"
    )


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(x, y)`` points; None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def _cpu(pid: int) -> float:
    used = cpu_seconds(pid)
    if used is None:
        raise RuntimeError(f"the embedded broker (pid {pid}) is gone")
    return used


async def _fill(producer: AIOKafkaProducer, topic: str, have: int, want: int, batch: int) -> int:
    """Append records to ``topic`` until it holds ``want``: one batch per ``batch`` records."""
    while have < want:
        n = min(batch, want - have)
        if n == 1:
            await producer.send_and_wait(topic, _VALUE, partition=0)
        else:
            pending = [await producer.send(topic, _VALUE, partition=0) for _ in range(n)]
            await producer.flush()
            await asyncio.gather(*pending)
        have += n
    return have


async def _time_fetches(
    bootstrap: str, topic: str, end: int, fetches: int, pid: int
) -> dict[str, float]:
    """Fetch the last record of ``topic`` ``fetches`` times: wall and broker CPU per fetch (ms)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        cpu0, t0 = _cpu(pid), time.perf_counter()
        for _ in range(fetches):
            consumer.seek(tp, end - 1)
            got = await consumer.getmany(tp, timeout_ms=30_000)
            if not got.get(tp):
                raise RuntimeError(f"fetch of {topic} at {end - 1} returned nothing in 30 s")
        wall, cpu = time.perf_counter() - t0, _cpu(pid) - cpu0
    finally:
        await consumer.stop()
    return {
        "wall_ms": round(wall / fetches * 1000, 3),
        "broker_cpu_ms": round(cpu / fetches * 1000, 3),
    }


async def _measure(args: argparse.Namespace, broker: EmbeddedBroker) -> dict[str, Any]:
    assert broker.pid is not None
    sizes = sorted(set(args.sizes))
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in ("single", "floor", "batched")])
        await producer.start()
        await _fill(producer, "floor", 0, 1, 1)
        rows: list[dict[str, Any]] = []
        have = 0
        for size in sizes:
            have = await _fill(producer, "single", have, size, 1)
            single = await _time_fetches(broker.bootstrap, "single", have, args.fetches, broker.pid)
            floor = await _time_fetches(broker.bootstrap, "floor", 1, args.fetches, broker.pid)
            rows.append({"batches": size, "single": single, "one_batch_topic": floor})
            print(
                f"broker: {size:>7,} batches: fetch {single['wall_ms']:.2f} ms wall, "
                f"{single['broker_cpu_ms']:.2f} ms broker CPU (one-batch topic: "
                f"{floor['wall_ms']:.2f} / {floor['broker_cpu_ms']:.2f} ms)",
                file=sys.stderr,
                flush=True,
            )
        top = sizes[-1]
        await _fill(producer, "batched", 0, top, args.batch)
        batched = await _time_fetches(broker.bootstrap, "batched", top, args.fetches, broker.pid)
        print(
            f"broker: {top:,} records in batches of {args.batch}: fetch {batched['wall_ms']:.2f} "
            f"ms wall, {batched['broker_cpu_ms']:.2f} ms broker CPU",
            file=sys.stderr,
            flush=True,
        )
    finally:
        await producer.stop()
        await admin.close()
    per_batch = slope([(r["batches"], r["single"]["broker_cpu_ms"] * 1000) for r in rows])
    wall_per_batch = slope([(r["batches"], r["single"]["wall_ms"] * 1000) for r in rows])
    return {
        "fetches_per_size": args.fetches,
        "sizes": rows,
        "batched": {"records": top, "records_per_batch": args.batch, **batched},
        "broker_cpu_us_per_stored_batch": None if per_batch is None else round(per_batch, 4),
        "wall_us_per_stored_batch": None if wall_per_batch is None else round(wall_per_batch, 4),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with EmbeddedBroker() as broker:
        return asyncio.run(_measure(args, broker))
