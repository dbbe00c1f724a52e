"""The baseline of ``oppbus bench pipeline``: a raw aiokafka consume -> transform -> produce loop.

The shape ``docs/upstream/faust-throughput.md`` measured as the reference: ``getmany(max_records=1000)``,
one ``orjson`` parse and dump per record (a field set in between), ``producer.send`` without
awaiting each delivery, commit once per batch; the clock stops when the producer has flushed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

__all__ = ["PassThrough", "run_passthrough"]


@dataclass
class PassThrough:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


async def run_passthrough(
    bootstrap: str,
    source: str,
    sink: str,
    group: str,
    expected: int,
    *,
    limit_s: float = 120.0,
    fetch_wait_ms: int = 500,
    linger_ms: int = 5,
    assigned: asyncio.Event | None = None,
) -> PassThrough:
    """Move ``expected`` records from ``source`` to ``sink``; time from first fetch to last ack.

    ``fetch_wait_ms``: aiokafka's ``fetch_max_wait_ms`` (its default; the latency baseline uses
    the worker's), ``linger_ms`` its producer's. ``assigned`` is set once the group has given
    this consumer its partitions.
    """
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_wait_ms=fetch_wait_ms,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=linger_ms, max_batch_size=262_144, acks="all"
    )
    try:
        await producer.start()
        await consumer.start()
        moved = 0
        started: float | None = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while moved < expected and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            if assigned is not None and consumer.assignment():
                assigned.set()
            if not batches:
                continue
            if started is None:
                started = time.perf_counter()
            for messages in batches.values():
                for m in messages:
                    data = orjson.loads(m.value)
                    data["routed"] = True
                    await producer.send(
                        sink, orjson.dumps(data), key=m.key, headers=list(m.headers)
                    )
                    moved += 1
            await consumer.commit()
        await producer.flush()
        return PassThrough(moved, time.perf_counter() - (started or time.perf_counter()))
    finally:
        await consumer.stop()
        await producer.stop()
