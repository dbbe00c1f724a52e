"""Real end offsets on the embedded broker, where ListOffsets falls short once producers batch."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.bench.probes import group_lag
from streams.runtime import refresh_metadata
from streams.runtime.end_offsets import end_offsets
from streams.settings import Settings

pytestmark = pytest.mark.kafka


async def _produce_batched(settings: Settings, topic: str, producers: int, each: int) -> dict:
    """``producers`` producers each send ``each`` records with a linger (so they batch);
    returns the real end of every partition (last acknowledged offset + 1)."""
    clients = [
        AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20)
        for _ in range(producers)
    ]
    ends: dict[TopicPartition, int] = {}
    try:
        for p in clients:
            await p.start()

        async def burst(p: AIOKafkaProducer) -> list:
            futs = [await p.send(topic, b"x" * 100, key=b"k%d" % i) for i in range(each)]
            return list(await asyncio.gather(*futs))

        for metas in await asyncio.gather(*(burst(p) for p in clients)):
            for meta in metas:
                tp = TopicPartition(topic, meta.partition)
                ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    finally:
        for p in clients:
            await p.stop()
    return ends


async def test_end_offsets_match_the_acknowledged_records_when_producers_batch(
    settings: Settings,
) -> None:
    topic = settings.topic("batched")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1), NewTopic(topic + "-empty", 2, 1)])
    finally:
        await admin.close()
    real = await _produce_batched(settings, topic, producers=3, each=300)
    assert sum(real.values()) == 900
    empty = [TopicPartition(topic + "-empty", p) for p in range(2)]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        await refresh_metadata(consumer)
        wanted = [*real, *empty]
        listed = await consumer.end_offsets(wanted)
        ours = await end_offsets(consumer, wanted)
    finally:
        await consumer.stop()
    # The broker's own ListOffsets is short (this is what the module exists for) ...
    assert any(listed[tp] < real[tp] for tp in real), (listed, real)
    # ... ours is exactly the end of what was acknowledged, and 0 for empty partitions.
    assert {tp: ours[tp] for tp in real} == real
    assert {tp: ours[tp] for tp in empty} == {tp: 0 for tp in empty}


async def test_group_lag_counts_every_record_when_producers_batch(settings: Settings) -> None:
    """The soak bench's lag probe: a group that committed nothing lags by every record."""
    topic = settings.topic("lagging")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
        real = await _produce_batched(settings, topic, producers=2, each=300)
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
        await consumer.start()
        try:
            lag = await group_lag(admin, consumer, f"{settings.app_id}-idle", topic)
            # Read again afterwards, for the failure message only: a short lag with right ends
            # here would mean the broker acknowledged records before it could serve them.
            later = await end_offsets(consumer, list(real))
            listed = await consumer.end_offsets(list(real))
        finally:
            await consumer.stop()
    finally:
        await admin.close()
    assert sum(real.values()) == 600
    assert lag == 600, f"acknowledged {real}; read again: ours {later}, ListOffsets {listed}"
