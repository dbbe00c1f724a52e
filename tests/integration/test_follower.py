"""The topic followers (streams.runtime.TopicFollower, and SharedFollower serving several views on
one consumer) on the real embedded broker."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.broker import EmbeddedBroker
from streams.runtime import Origin, SharedFollower, TopicFollower
from streams.settings import Settings
from tests.ports import child_port
from tests.proc_tree import open_sockets

pytestmark = pytest.mark.kafka


class Seen:
    """A sink that keeps every record it is fed, and when each fetch's records came (a record
    more than 10 ms after the previous run's first starts a new run: one fetch is fed at once)."""

    def __init__(self) -> None:
        self.values: list[bytes | None] = []
        self.origins: list[Origin] = []
        self.fed_at: list[float] = []

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
        now = asyncio.get_running_loop().time()
        if not self.fed_at or now - self.fed_at[-1] > 0.01:
            self.fed_at.append(now)


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


# --- one consumer, several registrations (SharedFollower) --------------------------------------


async def test_each_registration_is_caught_up_with_its_own_topics(settings: Settings) -> None:
    big, small, empty = (settings.topic(n) for n in ("shared-big", "shared-small", "shared-empty"))
    await _create(settings.bootstrap_servers, {big: 2, small: 3, empty: 1})
    await _produce(settings.bootstrap_servers, big, _values("big", 2000))
    await _produce(settings.bootstrap_servers, small, _values("small", 30))
    follower = SharedFollower(settings.bootstrap_servers, name="test", max_records=50)
    seen_big, seen_small, seen_empty = Seen(), Seen(), Seen()
    views = (
        follower.follow([big], seen_big, name="big"),
        follower.follow([small], seen_small, name="small"),
        follower.follow([empty], seen_empty, name="empty"),
    )
    with pytest.raises(ValueError, match="already followed"):
        follower.follow([small], Seen(), name="again")
    empty_caught_up_at_first_big_record: list[bool] = []

    def note_first(*record: object) -> None:
        if not empty_caught_up_at_first_big_record:
            empty_caught_up_at_first_big_record.append(views[2].caught_up.is_set())

    views[0].sink = lambda *record: (note_first(), seen_big(*record))  # type: ignore[func-returns-value]
    await follower.start()
    try:
        assert all(v.running for v in views)
        with pytest.raises(RuntimeError, match="before the follower starts"):
            follower.follow([settings.topic("later")], Seen(), name="late")
        await asyncio.wait_for(views[2].wait_caught_up(), 10)
        await asyncio.wait_for(views[1].wait_caught_up(), 20)
        assert sorted(v for v in seen_small.values if v) == sorted(_values("small", 30))
        await asyncio.wait_for(views[0].wait_caught_up(), 20)
        assert len(seen_big.values) == 2000 == views[0].records
        assert empty_caught_up_at_first_big_record == [True]  # not held back by the big one
        # each sink got its own topics only, and each handle knows its own positions
        for view, seen, topic in zip(
            views, (seen_big, seen_small, seen_empty), (big, small, empty), strict=True
        ):
            assert {t for t, _, _ in seen.origins} <= {topic}
            for t, partition, offset in seen.origins:
                assert view.position(t, partition) > offset
        assert views[1].position(big, 0) == 0

        live = _values("live", 10)
        await _produce(settings.bootstrap_servers, empty, live)
        assert await views[2].wait_until(lambda: len(seen_empty.values) >= 10, timeout_s=10)
        assert sorted(v for v in seen_empty.values if v) == sorted(live)
        assert views[0].records == 2000 and views[1].records == 30
    finally:
        await follower.stop()
    assert not any(v.running for v in views)


async def test_waits_for_a_topic_created_after_it_started(settings: Settings) -> None:
    there, late = settings.topic("shared-there"), settings.topic("shared-late")
    await _create(settings.bootstrap_servers, {there: 2})
    await _produce(settings.bootstrap_servers, there, _values("there", 40))
    follower = SharedFollower(settings.bootstrap_servers, name="test", topic_wait_s=20)
    seen_there, seen_late = Seen(), Seen()
    view_there = follower.follow([there], seen_there, name="there")
    view_late = follower.follow([late], seen_late, name="late")
    starting = asyncio.ensure_future(follower.start())
    await asyncio.sleep(1.0)
    assert not starting.done()  # waiting for the late topic
    await _create(settings.bootstrap_servers, {late: 2})
    await _produce(settings.bootstrap_servers, late, _values("late", 20))
    try:
        await asyncio.wait_for(starting, 20)
        await asyncio.wait_for(view_there.wait_caught_up(), 20)
        assert len(seen_there.values) == 40
        assert await view_late.wait_until(lambda: len(seen_late.values) >= 20, timeout_s=20)
        assert sorted(v for v in seen_late.values if v) == sorted(_values("late", 20))
    finally:
        await follower.stop()


async def test_a_failing_sink_stops_every_registration_and_is_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = settings.topic("shared-good"), settings.topic("shared-bad")
    await _create(settings.bootstrap_servers, {good: 1, bad: 1})
    await _produce(settings.bootstrap_servers, bad, _values("x", 3))

    def refuse(*record: object) -> None:
        raise ValueError("refused")

    follower = SharedFollower(settings.bootstrap_servers, name="shared")
    healthy = follower.follow([good], Seen(), name="healthy")
    failing = follower.follow([bad], refuse, name="failing")
    with caplog.at_level(logging.ERROR), pytest.raises(ValueError, match="refused") as raised:
        await asyncio.wait_for(follower.run(), 20)
    assert "in the sink of failing" in " ".join(raised.value.__notes__)
    assert not failing.caught_up.is_set() and failing.records == 0
    assert not healthy.running and not follower.running
    assert any("shared stopped following" in r.getMessage() for r in caplog.records)
    assert any("in the sink of failing" in r.getMessage() for r in caplog.records)


async def test_stop_closes_the_one_connection_even_when_its_runner_is_cancelled(
    settings: Settings,
) -> None:
    a, b = settings.topic("shared-close-a"), settings.topic("shared-close-b")
    await _create(settings.bootstrap_servers, {a: 2, b: 2})
    await _produce(settings.bootstrap_servers, a, _values("a", 10))
    await asyncio.sleep(0.05)
    before = open_sockets()
    follower = SharedFollower(settings.bootstrap_servers, name="test")
    views = [follower.follow([a], Seen(), name="a"), follower.follow([b], Seen(), name="b")]
    runner = asyncio.ensure_future(follower.run())
    for view in views:
        await asyncio.wait_for(view.wait_caught_up(), 20)
    assert open_sockets() - before  # connected
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    assert not follower.running
    await asyncio.sleep(0.05)  # let closed transports go
    assert not open_sockets() - before


async def test_every_registration_keeps_following_across_a_broker_restart(
    tmp_path: Path, unique: str
) -> None:
    """As for one follower: the broker killed and started again on the same port, every
    registration goes on reading (the log rewritten first, memory storage)."""
    port = child_port()
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "tansu.log").start()
    topics = [f"{unique}.shared-a", f"{unique}.shared-b"]
    seen = [Seen(), Seen()]
    follower = SharedFollower(broker.bootstrap, name="t", retry_s=0.2)
    views = [follower.follow([t], s, name=t) for t, s in zip(topics, seen, strict=True)]
    try:
        await _create(broker.bootstrap, dict.fromkeys(topics, 2))
        for topic in topics:
            await _produce(broker.bootstrap, topic, _values("before", 20))
        await follower.start()
        for view in views:
            await asyncio.wait_for(view.wait_caught_up(), 20)
        broker.kill()
        await asyncio.sleep(1.0)
        broker = EmbeddedBroker(port=port, log_path=tmp_path / "tansu2.log").start()
        await _create(broker.bootstrap, dict.fromkeys(topics, 2))
        after = {topic: _values(f"after-{i}", 20) for i, topic in enumerate(topics)}
        for topic in topics:
            await _produce(broker.bootstrap, topic, _values("before", 20))
            await _produce(broker.bootstrap, topic, after[topic])
        for view, s, topic in zip(views, seen, topics, strict=True):
            assert await view.wait_until(
                lambda s=s, t=topic: set(after[t]) <= set(s.values), timeout_s=30
            ), f"{view.name} read after the restart: {sorted(set(s.values) & set(after[topic]))}"
        assert follower.running
    finally:
        await follower.stop()
        broker.stop()


async def test_a_paced_follower_fetches_at_most_once_per_pace_once_caught_up(
    settings: Settings,
) -> None:
    topic = settings.topic("follow-paced")
    await _create(settings.bootstrap_servers, {topic: 1})
    await _produce(settings.bootstrap_servers, topic, _values("old", 3000))
    feeds = Seen()
    follower = TopicFollower(
        settings.bootstrap_servers, [topic], feeds, name="paced", fetch_wait_ms=20,
        max_records=100, pace_s=0.5,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    await follower.start()
    try:
        started = loop.time()
        await asyncio.wait_for(follower.wait_caught_up(), 10)
        # catching up is not paced: 30 fetches of 100 records would take 15 s at 0.5 s each
        assert loop.time() - started < 5.0
        caught_up_feeds = len(feeds.fed_at)
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
        await producer.start()
        try:
            live_started = loop.time()
            for i in range(60):  # a record every 50 ms for 3 s: new data at every fetch
                await producer.send_and_wait(topic, f"live-{i}".encode())
                await asyncio.sleep(0.05)
        finally:
            await producer.stop()
        assert await follower.wait_until(lambda: len(feeds.values) == 3060, timeout_s=5)
        live = [t for t in feeds.fed_at[caught_up_feeds:] if t >= live_started]
        span = feeds.fed_at[-1] - live_started
        # unpaced, a 20 ms wait fetches some 50 times a second here; paced, twice
        assert len(live) <= span / 0.5 + 2, (len(live), span)
        # fetches *begin* at least a pace apart; what the sink sees is each fetch's delivery, which
        # trails its start by that fetch's own time (up to the 20 ms wait plus the broker's answer,
        # ~50 ms once in a loaded CI run): so deliveries are a pace apart less that jitter
        gaps = [b - a for a, b in itertools.pairwise(live)]
        assert min(gaps) >= 0.5 - 0.1, gaps
    finally:
        await follower.stop()
    assert feeds.values[-1] == b"live-59" and len(feeds.values) == 3060
