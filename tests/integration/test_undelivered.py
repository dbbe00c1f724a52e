"""Records a worker consumed and never processed, on the real broker (the states the kill -9
fault test caught): read again by the undelivered-records watchdog once the worker is idle -
whether they never reached the stream or the stream skipped them - and never committed past by
the commit guard when later ones were processed, even on a partition the group never committed."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from aiokafka import TopicPartition

from streams.runtime import aiokafka_consumer, call_in_consumer_thread
from streams.runtime.app import create_app
from streams.runtime.undelivered import UndeliveredWatch
from streams.runtime.worker_state import stream_queues
from streams.settings import Settings
from tests.integration.polling import until

pytestmark = pytest.mark.kafka


def _collecting_app(
    settings: Settings, name: str, gate: asyncio.Event | None = None
) -> tuple[faust.App, Any, list[bytes]]:
    """An app whose one agent collects the values of gapless topic ``name``; with a ``gate``,
    the agent holds its stream after each value until the gate is set (the rest queues up)."""
    app = create_app(settings)
    source = app.topic(name, partitions=1)
    app.gapless_topics = frozenset({name})
    received: list[bytes] = []

    @app.agent(source)
    async def collect(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            received.append(value)
            if gate is not None:
                await gate.wait()

    return app, source, received


async def _send_behind_fausts_back(app: faust.App, source: Any, values: list[bytes]) -> None:
    """Send ``values`` while the partition is paused and move aiokafka's position past them, as
    seen in the fault suite: the consumer past records its stream never got."""
    consumer, name = app.consumer, source.get_topic_name()
    faust_tp = next(t for t in consumer.assignment() if t.topic == name and t.partition == 0)
    consumer.pause_partitions([faust_tp])
    sent = [await source.send(key=b"k", value=value, partition=0) for value in values]
    end = (await sent[-1]).offset + 1
    aiokafka = aiokafka_consumer(app)
    tp = TopicPartition(faust_tp.topic, 0)

    async def jump() -> None:
        aiokafka.seek(tp, end)

    await call_in_consumer_thread(app, jump)
    consumer.resume_partitions([faust_tp])


async def _read_again(watch: UndeliveredWatch, received: list[bytes], count: int) -> bool:
    """Run the watchdog until ``count`` values arrived: its second identical sighting acts (the
    app's own timer may act first)."""
    for _ in range(6):
        await watch.check()
        if len(received) == count:
            break
        await asyncio.sleep(0.5)
    return await until(lambda: len(received) == count)


async def test_records_the_consumer_skipped_are_read_again(settings: Settings) -> None:
    app, source, received = _collecting_app(settings, settings.topic("skip-in"))
    watch = UndeliveredWatch(app)
    await app.start()
    try:
        assert await until(lambda: app.consumer.flow_active and bool(app.consumer.assignment()))
        for i in range(10):
            await source.send(key=b"k", value=f"first-{i}".encode(), partition=0)
        assert await until(lambda: len(received) == 10)
        assert await watch.check() == {}  # all delivered: nothing to do

        await _send_behind_fausts_back(app, source, [f"second-{i}".encode() for i in range(20)])
        await asyncio.sleep(1.0)
        assert len(received) == 10  # the consumer is at 30: they would never come

        assert await _read_again(watch, received, 30)
    finally:
        await app.stop()
    assert received[10:] == [f"second-{i}".encode() for i in range(20)]


async def test_records_dropped_from_the_stream_queue_are_read_again(settings: Settings) -> None:
    """The second shape: records handed to the stream and thrown away before it took them (as
    mode's flow control did on Faust's second resume after a restart), nothing coming after."""
    gate = asyncio.Event()
    app, source, received = _collecting_app(settings, settings.topic("dropped-in"), gate)
    watch = UndeliveredWatch(app)
    await app.start()
    try:
        assert await until(lambda: app.consumer.flow_active and bool(app.consumer.assignment()))
        values = [f"v-{i}".encode() for i in range(21)]
        for value in values:
            await source.send(key=b"k", value=value, partition=0)
        (queue,) = stream_queues(app)  # the collecting agent's: create_app adds no agents
        assert await until(lambda: len(received) == 1 and queue.qsize() == 20)
        app.flow_control.clear()  # what FlowControlEvent.resume() did to a running flow
        gate.set()
        await asyncio.sleep(1.0)
        assert len(received) == 1  # consumed, never processed: they would never come

        assert await _read_again(watch, received, 21)
    finally:
        await app.stop()
    assert received == values


async def test_a_jump_on_a_partition_the_group_never_committed_is_not_committed_past(
    settings: Settings,
) -> None:
    """The fault suite's second shape: no committed offset, so no base for the head check; the
    first delivery came from far past the start and was committed as is (1,140 lost)."""
    app, source, received = _collecting_app(settings, settings.topic("never-committed"))
    await app.start()
    try:
        assert await until(lambda: app.consumer.flow_active and bool(app.consumer.assignment()))
        skipped = [f"skipped-{i}".encode() for i in range(30)]
        await _send_behind_fausts_back(app, source, skipped)
        later = [f"later-{i}".encode() for i in range(10)]
        for value in later:
            await source.send(key=b"k", value=value, partition=0)
        assert await until(lambda: set(skipped + later) <= set(received))
    finally:
        await app.stop()
    # Faust's read offset went 30..39 before the rewind; the skipped ones came after, all of them.
    assert received[received.index(skipped[0]) :][:30] == skipped
