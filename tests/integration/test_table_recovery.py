"""A Faust table recovers every row of its changelog, even the last batch Tansu's ListOffsets
leaves out (``OppbusApp`` recovers up to the real end: ``streams.runtime.end_offsets``)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.runtime.app import create_app
from streams.runtime.end_offsets import end_offsets
from streams.settings import Settings

pytestmark = pytest.mark.kafka

ROWS = 600


async def _fill_changelog(settings: Settings, topic: str) -> None:
    """Two producers write the rows in large batches, as a busy worker's changelog looks."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, settings.partitions, 1)])
    finally:
        await admin.close()
    producers = [
        AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20)
        for _ in range(2)
    ]
    try:
        for p in producers:
            await p.start()

        async def write(p: AIOKafkaProducer, first: int) -> None:
            futs = [
                await p.send(topic, b"v%d" % i, key=b"k%04d" % i)
                for i in range(first, ROWS, len(producers))
            ]
            await asyncio.gather(*futs)

        await asyncio.gather(*(write(p, i) for i, p in enumerate(producers)))
    finally:
        for p in producers:
            await p.stop()


async def test_table_recovery_reads_the_changelog_to_its_real_end(settings: Settings) -> None:
    app = create_app(settings)
    table = app.Table(
        "rows",
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
    )
    await _fill_changelog(settings, table.changelog_topic.get_topic_name())
    source = app.topic(settings.topic("rows-in"), partitions=settings.partitions)

    @app.agent(source)
    async def idle(stream):  # type: ignore[no-untyped-def]
        async for _ in stream:
            pass

    await app.start()
    try:
        async with asyncio.timeout(60):
            await app.tables.recovery.completed.wait()
        rows = dict(table.data.items())
    finally:
        await app.stop()
    assert len(rows) == ROWS, await _ends_now(settings, table.changelog_topic.get_topic_name())
    assert rows[b"k%04d" % (ROWS - 1)] == b"v%d" % (ROWS - 1)


async def _ends_now(settings: Settings, topic: str) -> str:
    """For a failure message: the changelog's ends read again after the recovery."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        ours = await end_offsets(consumer, tps)
        listed = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return f"changelog ends read again: ours {ours}, ListOffsets {listed}"
