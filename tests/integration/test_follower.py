"""The one topic follower (streams.runtime.TopicFollower) on the real embedded broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.broker import EmbeddedBroker
from streams.runtime import Origin, TopicFollower
from streams.settings import Settings
from tests.ports import child_port

pytestmark = pytest.mark.kafka


class Seen:
    """A sink that keeps every record it is fed."""

    def __init__(self) -> None:
        self.values: list[bytes | None] = []
        self.origins: list[Origin] = []

    def __call__(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: Origin,
    ) -> None:
        del key, headers
        self.values.append(value)
        self.origins.append(origin)


async def _create(bootstrap: str, topics: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, values: Sequence[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, v, key=v) for v in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _values(prefix: str, n: int) -> list[bytes]:
    return [f"{prefix}-{i}".encode() for i in range(n)]


async def test_caught_up_only_once_every_partition_reached_its_end_then_follows_live(
    settings: Settings,
) -> None:
    a, b = settings.topic("follow-a"), settings.topic("follow-b")
    await _create(settings.bootstrap_servers, {a: 3, b: 2})
    before = _values("a", 600)
    await _produce(settings.bootstrap_servers, a, before)
    await _produce(settings.bootstrap_servers, b, _values("b", 200))
    seen = Seen()
    follower = TopicFollower(settings.bootstrap_servers, [a, b], seen, name="test", max_records=50)
    applied_when_caught_up: list[int] = []

    async def watch() -> None:
        await follower.wait_caught_up()
        applied_when_caught_up.append(len(seen.values))

    watcher = asyncio.ensure_future(watch())
    await follower.start()
    try:
        assert follower.running
        await asyncio.wait_for(watcher, 20)
        # truthful: nothing that existed at the start is missing when "caught up" is said
        assert applied_when_caught_up[0] >= 800
        assert sorted(v for v in seen.values if v and v.startswith(b"a-")) == sorted(before)
        assert {(t, p) for t, p, _ in seen.origins} == {(a, 0), (a, 1), (a, 2), (b, 0), (b, 1)}
        for topic, partition in {(t, p) for t, p, _ in seen.origins}:
            last = max(o for t, p, o in seen.origins if (t, p) == (topic, partition))
            assert follower.position(topic, partition) == last + 1

        live = _values("live", 50)
        await _produce(settings.bootstrap_servers, b, live)
        assert await follower.wait_until(lambda: len(seen.values) >= 850, timeout_s=10)
        assert set(live) <= set(seen.values)
    finally:
        await follower.stop()
    assert not follower.running


async def test_empty_topics_are_caught_up_at_once(settings: Settings) -> None:
    topic = settings.topic("follow-empty")
    await _create(settings.bootstrap_servers, {topic: 2})
    follower = TopicFollower(settings.bootstrap_servers, [topic], Seen(), name="test")
    await follower.start()
    try:
        await asyncio.wait_for(follower.wait_caught_up(), 10)
    finally:
        await follower.stop()


async def test_a_restarted_follower_reads_everything_again_and_catches_up_again(
    settings: Settings,
) -> None:
    topic = settings.topic("follow-restart")
    await _create(settings.bootstrap_servers, {topic: 2})
    await _produce(settings.bootstrap_servers, topic, _values("x", 300))
    seen = Seen()
    follower = TopicFollower(settings.bootstrap_servers, [topic], seen, name="test")
    await follower.start()
    await asyncio.wait_for(follower.wait_caught_up(), 20)
    await follower.stop()
    assert len(seen.values) == 300

    await _produce(settings.bootstrap_servers, topic, _values("y", 100))
    seen.values.clear()
    await follower.start()  # the same object again: from the beginning, a new catch-up
    try:
        assert not follower.caught_up.is_set() or len(seen.values) >= 400
        await asyncio.wait_for(follower.wait_caught_up(), 20)
        assert len(seen.values) == 400
    finally:
        await follower.stop()


async def test_run_raises_when_a_topic_never_appears(settings: Settings) -> None:
    follower = TopicFollower(
        settings.bootstrap_servers, [settings.topic("nowhere")], Seen(), name="t", topic_wait_s=0.5
    )
    with pytest.raises(RuntimeError, match="does not exist"):
        await asyncio.wait_for(follower.run(), 20)
    assert not follower.running


async def test_a_failing_sink_stops_the_follower(settings: Settings) -> None:
    topic = settings.topic("follow-bad-sink")
    await _create(settings.bootstrap_servers, {topic: 1})
    await _produce(settings.bootstrap_servers, topic, _values("x", 3))

    def sink(*record: object) -> None:
        raise ValueError("refused")

    follower = TopicFollower(settings.bootstrap_servers, [topic], sink, name="t")
    with pytest.raises(ValueError, match="refused"):
        await asyncio.wait_for(follower.run(), 20)
    assert not follower.caught_up.is_set()


async def test_read_to_end_stops_at_the_end_measured_at_the_start(settings: Settings) -> None:
    topic = settings.topic("follow-once")
    await _create(settings.bootstrap_servers, {topic: 3})
    await _produce(settings.bootstrap_servers, topic, _values("x", 500))
    seen = Seen()
    ticks: list[tuple[int, int]] = []
    follower = TopicFollower(
        settings.bootstrap_servers, [topic, settings.topic("missing")], seen, name="t",
        topic_wait_s=None, max_records=64,
    )  # fmt: skip
    read = await asyncio.wait_for(follower.read_to_end(lambda r, t: ticks.append((r, t))), 20)
    assert read == 500 == len(seen.values)
    assert ticks[0] == (0, 500) and ticks[-1] == (500, 500)
    assert not follower.running
    nothing = TopicFollower(
        settings.bootstrap_servers, [settings.topic("missing")], seen, name="t", topic_wait_s=None
    )
    assert await asyncio.wait_for(nothing.read_to_end(), 20) == 0


async def test_keeps_following_across_a_broker_restart(tmp_path: Path, unique: str) -> None:
    """The broker killed and started again on the same port: the follower reconnects by itself
    and goes on reading from where it was. Memory storage loses the log, so the same records are
    written again first (what durable storage would have kept), then new ones."""
    port = child_port()  # the broker, a child process, binds it (tests/ports.py)
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "tansu.log").start()
    topic = f"{unique}.follow"
    seen = Seen()
    follower = TopicFollower(broker.bootstrap, [topic], seen, name="t", retry_s=0.2)
    try:
        await _create(broker.bootstrap, {topic: 2})
        await _produce(broker.bootstrap, topic, _values("before", 20))
        await follower.start()
        await asyncio.wait_for(follower.wait_caught_up(), 20)
        broker.kill()
        await asyncio.sleep(1.0)
        broker = EmbeddedBroker(port=port, log_path=tmp_path / "tansu2.log").start()
        await _create(broker.bootstrap, {topic: 2})
        await _produce(broker.bootstrap, topic, _values("before", 20))  # same keys, partitions
        after = _values("after", 20)
        await _produce(broker.bootstrap, topic, after)
        assert await follower.wait_until(lambda: set(after) <= set(seen.values), timeout_s=30), (
            f"read after the restart: {sorted(set(seen.values) & set(after))}"
        )
        assert follower.running
    finally:
        await follower.stop()
        broker.stop()
