"""The undelivered-records watchdog on the real broker: a consumer moved past records its stream
never got (the state the kill -9 fault test caught) reads them again, and nothing is lost."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from ops.settings import Settings
from streams.app import create_app
from streams.undelivered import UndeliveredWatch
from tests.integration.polling import until

pytestmark = pytest.mark.kafka


async def test_records_the_consumer_skipped_are_read_again(settings: Settings) -> None:
    app = create_app(settings)
    name = settings.topic("skip-in")
    source = app.topic(name, partitions=1)
    app.gapless_topics = frozenset({name})
    received: list[bytes] = []

    @app.agent(source)
    async def collect(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            received.append(value)

    watch = UndeliveredWatch(app, settings.bootstrap_servers)
    await app.start()
    try:
        assert await until(lambda: app.consumer.flow_active and bool(app.consumer.assignment()))
        for i in range(10):
            await source.send(key=b"k", value=f"first-{i}".encode())
        assert await until(lambda: len(received) == 10)
        assert await watch.check() == {}  # all delivered: nothing to do

        # Move the consumer past the next 20 records behind Faust's back, as seen in the fault
        # suite: aiokafka's position at the end, nothing of them delivered.
        consumer = app.consumer
        faust_tp = next(iter(t for t in consumer.assignment() if t.topic == name))
        consumer.pause_partitions([faust_tp])
        for i in range(20):
            await source.send(key=b"k", value=f"second-{i}".encode())
        aiokafka = consumer._thread._ensure_consumer()
        tp = TopicPartition(name, 0)

        async def jump() -> None:
            aiokafka.seek(tp, 30)

        await consumer._thread.call_thread(jump)
        consumer.resume_partitions([faust_tp])
        await asyncio.sleep(1.0)
        assert len(received) == 10  # the consumer is at 30: they would never come

        for _ in range(6):  # the second identical sighting acts (the app's own timer may too)
            await watch.check()
            if len(received) == 30:
                break
            await asyncio.sleep(0.5)
        assert await until(lambda: len(received) == 30)
    finally:
        await app.stop()
    assert received[10:] == [f"second-{i}".encode() for i in range(20)]
