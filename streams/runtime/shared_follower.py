"""One consumer for every whole-topic view of a process: follow topics from their start.

A :class:`SharedFollower` assigns itself every partition of the topics of all its registrations
(manual assignment: nothing is shared, committed or rebalanced, so every process that needs a
whole topic reads it all), seeks to the beginning and hands each partition's batch to the sink of
the registration (:meth:`SharedFollower.follow`) that named its topic. One consumer fetches for
all of them: an idle worker pays one fetch per fetch wait, not one per view (issue #24).

Each registration is a :class:`FollowedTopics` with its own ``caught_up`` (set once ITS topics
reached the end offsets measured when the follower started: ListOffsets alone is short on Tansu,
``end_offsets``), ``records``, :meth:`~FollowedTopics.position` and
:meth:`~FollowedTopics.wait_until`, so a router never routes against a half-loaded directory and a
health check says "ready" only when it is true; afterwards it keeps following.
:class:`~streams.runtime.TopicFollower` is a follower with one registration.

Records reach a sink in offset order per partition. Faults: a broker that goes away and comes back
is aiokafka's to reconnect (the fetcher retries with manual assignment; ``getmany`` returns empty
meanwhile); a fetch that still raises a Kafka or socket error is logged and retried after
``retry_s``. A sink that raises stops the follower, every registration with it (the exception
comes out of :meth:`~SharedFollower.run` / the task, logged with the registration's name): a view
is never left silently half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypedDict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.runtime.consumer_access import refresh_metadata
from streams.runtime.end_offsets import end_offsets

__all__ = [
    "FollowedTopics",
    "FollowerOptions",
    "Origin",
    "Record",
    "RecordSink",
    "SharedFollower",
    "WholeRecordSink",
    "start_whole",
]

log = logging.getLogger(__name__)

Origin = tuple[str, int, int]  # (full topic name, partition, offset)
# (key, value, headers, origin) -> None; value None is a tombstone.
RecordSink = Callable[[bytes | None, bytes | None, Sequence[tuple[str, bytes]], Origin], None]


class Record(Protocol):
    """What a :data:`WholeRecordSink` is given (an aiokafka ``ConsumerRecord``)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


WholeRecordSink = Callable[[Record], None]  # for readers that need more, e.g. the timestamp


async def start_whole(starting: Awaitable[None]) -> None:
    """Let a client's ``start()`` finish even when we are cancelled meanwhile, then re-raise.

    aiokafka leaks its bootstrap connection when ``start()`` is cancelled half-way (it is not
    yet in the client's table, so ``stop()`` cannot close it): a ResourceWarning at GC
    (``tests/regression/upstream/test_aiokafka_cancelled_start.py``).
    """
    task = asyncio.ensure_future(starting)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class FollowerOptions(TypedDict, total=False):
    """The options of a follower's consumer (:class:`SharedFollower`'s keywords)."""

    client_id: str | None
    client_options: Mapping[str, Any] | None
    fetch_wait_ms: int
    max_records: int
    topic_wait_s: float | None
    retry_s: float
    pace_s: float | None


class FollowedTopics:
    """One registration: its topics (full names), its sink, and what it has read of them."""

    def __init__(
        self,
        follower: SharedFollower,
        topics: Sequence[str],
        sink: RecordSink | None,
        on_record: WholeRecordSink | None,
        name: str,
    ) -> None:
        if (sink is None) == (on_record is None):
            raise TypeError("give a sink or on_record, not both")
        self.follower = follower
        self.topics = list(topics)
        self.sink = sink
        self.on_record = on_record
        self.name = name
        self.caught_up = asyncio.Event()
        self.records = 0
        self.partitions: list[TopicPartition] = []
        self._positions: dict[tuple[str, int], int] = {}
        self._progress = asyncio.Condition()

    def position(self, topic: str, partition: int) -> int:
        """The next offset to be applied on ``topic[partition]`` (0 before the first record)."""
        return self._positions.get((topic, partition), 0)

    async def wait_caught_up(self) -> None:
        await self.caught_up.wait()

    async def wait_until(self, predicate: Callable[[], bool], *, timeout_s: float | None) -> bool:
        """Wait until ``predicate()`` holds after an applied batch; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s), self._progress:
                await self._progress.wait_for(predicate)
        except TimeoutError:
            return False
        return True

    @property
    def running(self) -> bool:
        return self.follower.running

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self.follower.task

    def feed(self, tp: TopicPartition, messages: Sequence[Any]) -> None:
        """Apply one partition's batch (offset order), then note the position."""
        if not messages:
            return
        sink = self.sink
        if sink is not None:
            for m in messages:
                sink(m.key, m.value, m.headers, (m.topic, m.partition, m.offset))
        else:
            on_record = self.on_record
            assert on_record is not None
            for m in messages:
                on_record(m)
        self.records += len(messages)
        self._positions[(tp.topic, tp.partition)] = messages[-1].offset + 1

    async def notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def reset(self) -> None:
        self.caught_up.clear()
        self._positions.clear()

    def mark_caught_up(self) -> None:
        if not self.caught_up.is_set():
            log.info("%s: caught up with %s (%d records)", self.name, self.topics, self.records)
            self.caught_up.set()


class SharedFollower:
    """One consumer following every partition of its registrations' topics from the beginning.

    Register with :meth:`follow` before :meth:`start`. ``topic_wait_s``: how long :meth:`start`
    waits for a topic to exist before it raises; ``None`` skips missing topics at once (the
    offline readers). ``fetch_wait_ms`` bounds how long a record waits at the broker before the
    follower sees it (read-your-writes latency). ``pace_s`` (default: the fetch wait): once every
    registration is caught up, fetch at most once per ``pace_s``. Under a steady flow a broker
    answers a fetch at once (there is always a new record), so without a pace a follower fetches
    as fast as the broker answers; on the embedded broker every such fetch lists all the batches
    of its partition (``tests/regression/upstream/test_tansu_broker.py``), and readers fetching
    back to back saturated it (docs/embedded-broker.md). A record still reaches the sink within
    about the fetch wait; catching up is never paced.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        name: str,
        client_id: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        fetch_wait_ms: int = 100,
        max_records: int = 5000,
        topic_wait_s: float | None = 30.0,
        retry_s: float = 1.0,
        pace_s: float | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.name = name
        self.client_id = client_id or f"oppbus-{name}"
        self.client_options = dict(client_options or {})  # SASL login (Settings)
        self.fetch_wait_ms = fetch_wait_ms
        self.max_records = max_records
        self.topic_wait_s = topic_wait_s
        self.retry_s = retry_s
        self.pace_s = fetch_wait_ms / 1000 if pace_s is None else pace_s
        self.registrations: list[FollowedTopics] = []
        self.partitions: list[TopicPartition] = []
        self._routes: dict[str, FollowedTopics] = {}  # full topic name -> its registration
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def follow(
        self,
        topics: Sequence[str],
        sink: RecordSink | None = None,
        *,
        name: str,
        on_record: WholeRecordSink | None = None,
    ) -> FollowedTopics:
        """Register ``topics`` (full names, none registered yet) for ``sink`` (or ``on_record``,
        given the whole record); the handle says what it has read."""
        if self._consumer is not None:
            raise RuntimeError(f"{self.name}: register {name} before the follower starts")
        taken = sorted(set(topics) & set(self._routes))
        if taken:
            raise ValueError(f"{self.name}: {taken} already followed")
        registration = FollowedTopics(self, topics, sink, on_record, name)
        self.registrations.append(registration)
        self._routes.update(dict.fromkeys(registration.topics, registration))
        return registration

    @property
    def topics(self) -> list[str]:
        return [topic for r in self.registrations for topic in r.topics]

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The real end offsets of ``partitions`` (any topic), asked with this follower's client."""
        if self._consumer is None:
            raise RuntimeError(f"{self.name}: not started")
        return await end_offsets(self._consumer, partitions)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, assign and seek to the beginning, then follow in a task; returns at once
        (await each registration's ``wait_caught_up``). Raises if a topic never appears."""
        if self.running:
            return
        consumer = await self._open()
        try:
            ends = await end_offsets(consumer, self.partitions)
        except BaseException:
            await self._close()
            raise
        self._task = asyncio.create_task(self._follow(consumer, ends), name=f"follow-{self.name}")
        self._task.add_done_callback(self._stopped)

    async def run(self) -> None:
        """Start and follow until cancelled (a Faust app task); closes the consumer at the end."""
        try:
            await self.start()
            assert self._task is not None
            await asyncio.shield(self._task)
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop following and close the consumer; runs to its end even when the caller is
        cancelled meanwhile (an app stopping cancels its tasks, maybe twice), so no connection
        is left open."""
        await asyncio.shield(self._stop())

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # its failure, if any, was logged (and raised by run)
        await self._close()

    # --- inside --------------------------------------------------------------------------------

    async def _open(self) -> AIOKafkaConsumer:
        for registration in self.registrations:
            registration.reset()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_wait_ms,
            **self.client_options,
        )
        self._consumer = consumer
        try:
            await start_whole(consumer.start())
            self.partitions = await self._partitions(consumer)
            consumer.assign(self.partitions)
            if self.partitions:
                await consumer.seek_to_beginning(*self.partitions)
        except BaseException:  # cancelled or failed while starting: close what was opened
            await asyncio.shield(self._close())
            raise
        return consumer

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.topic_wait_s or 0.0)
        found: list[TopicPartition] = []
        for registration in self.registrations:
            registration.partitions = []
            for topic in registration.topics:
                while True:
                    parts = consumer.partitions_for_topic(topic)
                    if parts:
                        registration.partitions.extend(
                            TopicPartition(topic, p) for p in sorted(parts)
                        )
                        break
                    # consumer.topics() fetches into a copy: the consumer's own metadata stays
                    # without the topic until its 5-minute refresh
                    await refresh_metadata(consumer)
                    if consumer.partitions_for_topic(topic):
                        continue
                    if self.topic_wait_s is None:
                        break  # skipped
                    if loop.time() > deadline:
                        raise RuntimeError(f"{registration.name}: topic {topic} does not exist")
                    await asyncio.sleep(0.1)
            found.extend(registration.partitions)
        return found

    async def _fetch(
        self, consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition] = ()
    ) -> dict[TopicPartition, list[Any]]:
        try:
            batches: dict[TopicPartition, list[Any]] = await consumer.getmany(
                *partitions, timeout_ms=self.fetch_wait_ms * 5, max_records=self.max_records
            )
        except (KafkaError, OSError) as exc:  # the broker away: aiokafka reconnects
            log.warning("%s: fetch failed (%r); retrying in %.1fs", self.name, exc, self.retry_s)
            await asyncio.sleep(self.retry_s)
            return {}
        return batches

    async def _follow(self, consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> None:
        pending: dict[FollowedTopics, dict[TopicPartition, int]] = {}
        for registration in self.registrations:
            mine = {tp: ends[tp] for tp in registration.partitions if ends.get(tp, 0) > 0}
            if mine:
                pending[registration] = mine
            else:
                registration.mark_caught_up()
        routes = self._routes
        loop = asyncio.get_running_loop()
        next_fetch = loop.time()
        while True:
            if self.pace_s and not pending:  # paced only once caught up: a start reads at speed
                await asyncio.sleep(max(0.0, next_fetch - loop.time()))
                next_fetch = loop.time() + self.pace_s
            batches = await self._fetch(consumer)
            fed: set[FollowedTopics] = set()
            for tp, messages in batches.items():
                registration = routes[tp.topic]
                try:
                    registration.feed(tp, messages)
                except Exception as exc:
                    exc.add_note(f"in the sink of {registration.name} at {tp}")
                    raise
                fed.add(registration)
            for registration, ahead in list(pending.items()):
                for tp, end in list(ahead.items()):
                    if registration.position(tp.topic, tp.partition) >= end or (
                        await consumer.position(tp) >= end
                    ):
                        del ahead[tp]
                if not ahead:
                    del pending[registration]
                    registration.mark_caught_up()
            for registration in fed:
                await registration.notify()

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            notes = "; ".join(getattr(exc, "__notes__", ()))
            log.error("%s stopped following %s: %r %s", self.name, self.topics, exc, notes)
