"""Publish -> output latency at a fixed rate, for ``oppbus bench pipeline``.

:func:`latency_run` publishes opportunities at a fixed rate onto ``opportunities`` and times each
from the publish call to the moment its output record (by key and ``ce_type``) is read back;
:func:`baseline_latency` runs it through the raw aiokafka pass-through or the bare Faust one
(``ops.bench.faust_floor``) on topics of their own, the latency baselines of the same run.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

    from streams.settings import Settings

__all__ = [
    "OFFERED",
    "PUBLISHED",
    "WARMUP_S",
    "Latencies",
    "baseline_latency",
    "latency_run",
    "percentile",
    "summary",
]

OFFERED = "io.oppbus.referral.offered.v1"
PUBLISHED = "io.oppbus.opportunity.published.v1"
# The first ~0.3 s of traffic after an idle start waits in lumps of ~100 ms while each new topic
# partition gets its first records (the worker's consumer fetches some 20 partitions of topics
# that start empty): measured apart as the cold start, the figures are the steady state after.
WARMUP_S = 1.0


@dataclass(frozen=True)
class Latencies:
    """Seconds from publish to output: ``steady`` after the warm-up, ``cold`` during it."""

    steady: list[float]
    cold: list[float]


async def _until(check: Callable[[], bool], limit_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not check():
        if loop.time() > deadline:
            raise TimeoutError("the latency run did not finish in time")
        await asyncio.sleep(0.005)


async def latency_run(
    settings: Settings,
    producer: AIOKafkaProducer,
    rate: int,
    seconds: float,
    make: Callable[[int, str], Any],
    *,
    out: str = "referrals",
    ce_type: str = OFFERED,
    warmup_s: float = WARMUP_S,
) -> Latencies:
    """Publish at ``rate`` onto ``opportunities`` for ``warmup_s`` and then ``seconds``; the
    latency of each to its ``ce_type`` record on ``out``, the warm-up's apart."""
    from aiokafka import AIOKafkaConsumer

    from schemas.codec import header
    from schemas.events import event_key
    from streams.record_auth import RecordAuth

    sent: dict[bytes, float] = {}
    warm: set[bytes] = set()
    latencies: list[float] = []
    cold: list[float] = []
    consumer = AIOKafkaConsumer(
        settings.topic(out),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        auto_offset_reset="latest",
        fetch_max_wait_ms=5,
    )
    await consumer.start()
    stop = asyncio.Event()

    async def read() -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=20)
            now = time.perf_counter()
            for messages in batches.values():
                for m in messages:
                    at = sent.pop(m.key, None) if header(m.headers, "ce_type") == ce_type else None
                    if at is not None:
                        (cold if m.key in warm else latencies).append(now - at)

    reader = asyncio.create_task(read())
    try:
        await asyncio.sleep(1.0)  # the reader is positioned at the end
        total, first = int(rate * seconds), int(rate * warmup_s)
        events = [make(i, f"lat{uuid.uuid4().hex[:6]}") for i in range(first + total)]
        topic = settings.topic("opportunities")
        auth = RecordAuth.from_settings(settings)
        encoded = [(event_key(e), auth.encode(topic, event_key(e), e, source="oppbus/bench"))
                   for e in events]  # fmt: skip
        warm = {key for key, _enc in encoded[:first] if key is not None}
        del events
        # the records to publish live in the worker's process here: keep them out of its
        # garbage collector's passes, as start-up objects are (streams.wiring)
        gc.collect()
        gc.freeze()
        start = time.perf_counter()
        for i, (key, enc) in enumerate(encoded):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            assert key is not None
            sent[key] = time.perf_counter()
            await producer.send(topic, enc.value, key=key, headers=enc.headers)
        await _until(lambda: len(latencies) >= total and len(cold) >= first, limit_s=30)
    finally:
        stop.set()
        await reader
        await consumer.stop()
    return Latencies(latencies, cold)


async def baseline_latency(
    settings: Settings,
    producer: AIOKafkaProducer,
    rate: int,
    seconds: float,
    make: Callable[[int, str], Any],
    *,
    faust: bool,
) -> Latencies:
    """The latency run through the raw pass-through (with the worker's fetch wait and producer
    linger) or, ``faust``, the bare Faust one: what the broker and this machine allow without
    Faust, and what Faust allows without routing."""
    from ops.bench.faust_floor import run_faust_passthrough
    from ops.bench.passthrough import run_passthrough
    from streams.runtime import ensure_topics

    suffix = "fl" if faust else "l"
    base = settings.model_copy(
        update={
            "topic_prefix": settings.topic_prefix + suffix,
            "app_id": settings.app_id + suffix,
        }
    )
    await ensure_topics(base)
    assigned = asyncio.Event()
    source, sink = base.topic("opportunities"), base.topic("referrals")  # the reader finds it
    total = int(rate * (seconds + WARMUP_S))
    mover = asyncio.create_task(
        run_faust_passthrough(base, source, sink, total, assigned=assigned)
        if faust
        else run_passthrough(
            base.bootstrap_servers,
            source,
            sink,
            f"{base.app_id}-raw",
            total,
            fetch_wait_ms=base.fetch_wait_ms,
            linger_ms=1,  # the worker's (streams.runtime.app)
            assigned=assigned,
        )
    )
    try:
        await asyncio.wait_for(assigned.wait(), 60)
        return await latency_run(
            base, producer, rate, seconds, make, out="referrals", ce_type=PUBLISHED
        )
    finally:
        await mover


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(prefix: str, lat: Latencies) -> dict[str, float | int | None]:
    """``<prefix>_p50_ms``, ``_p99_ms``, ``_max_ms``, ``_samples`` of the steady state and
    ``<prefix>_cold_p99_ms`` / ``_cold_max_ms`` of the warm-up, in milliseconds."""

    def ms(values: list[float], q: float | None) -> float | None:
        if not values:
            return None
        return round((max(values) if q is None else percentile(values, q)) * 1000, 2)

    return {
        f"{prefix}_samples": len(lat.steady),
        f"{prefix}_p50_ms": ms(lat.steady, 0.50),
        f"{prefix}_p99_ms": ms(lat.steady, 0.99),
        f"{prefix}_max_ms": ms(lat.steady, None),
        f"{prefix}_cold_p99_ms": ms(lat.cold, 0.99),
        f"{prefix}_cold_max_ms": ms(lat.cold, None),
    }
