"""The one way to follow topics from their start: every partition, no consumer group.

A :class:`TopicFollower` assigns itself every partition of its topics (manual assignment: nothing
is shared, committed or rebalanced, so every process that needs a whole topic reads it all),
seeks to the beginning and feeds each record to a :data:`RecordSink`. ``caught_up`` is set once it
has reached the end offsets measured when it started (``end_offsets``: ListOffsets alone is short
on Tansu), so a router never routes against a half-loaded directory and a health check says
"ready" only when it is true; afterwards it keeps following.

Used by the worker's whole-topic views (partner directory, claims, stats, policy, partnerships,
fees), the API's read model, webhook views, worker reports and funnel feed, and, through
:meth:`TopicFollower.read_to_end`, by the offline readers (replay, policy, fees verify), which stop
at the end offsets they measured at the start.

Faults: a broker that goes away and comes back is aiokafka's to reconnect (the fetcher retries
with manual assignment; ``getmany`` returns empty meanwhile); a fetch that still raises a Kafka or
socket error is logged and retried after ``retry_s``. A sink that raises stops the follower (the
exception comes out of :meth:`run` / the task): a view is never left silently half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.runtime.end_offsets import end_offsets

__all__ = [
    "Origin",
    "Progress",
    "Record",
    "RecordSink",
    "TopicFollower",
    "WholeRecordSink",
    "start_whole",
]

log = logging.getLogger(__name__)

Origin = tuple[str, int, int]  # (full topic name, partition, offset)
# (key, value, headers, origin) -> None; value None is a tombstone.
RecordSink = Callable[[bytes | None, bytes | None, Sequence[tuple[str, bytes]], Origin], None]
Progress = Callable[[int, int], None]  # (records read, records to read at the start)


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


class TopicFollower:
    """Follow every partition of ``topics`` (full names) from the beginning into ``sink``.

    ``sink`` gets ``(key, value, headers, origin)``; ``on_record`` instead gets the whole record.
    ``topic_wait_s``: how long :meth:`start` waits for a topic to exist before it raises;
    ``None`` skips missing topics at once (the offline readers). ``fetch_wait_ms`` bounds how
    long a record waits at the broker before the follower sees it (read-your-writes latency).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        sink: RecordSink | None = None,
        *,
        name: str,
        on_record: WholeRecordSink | None = None,
        client_id: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        fetch_wait_ms: int = 100,
        max_records: int = 5000,
        topic_wait_s: float | None = 30.0,
        retry_s: float = 1.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = list(topics)
        if (sink is None) == (on_record is None):
            raise TypeError("give a sink or on_record, not both")
        self.sink = sink
        self.on_record = on_record
        self.name = name
        self.client_id = client_id or f"oppbus-{name}"
        self.client_options = dict(client_options or {})  # SASL login (Settings)
        self.fetch_wait_ms = fetch_wait_ms
        self.max_records = max_records
        self.topic_wait_s = topic_wait_s
        self.retry_s = retry_s
        self.caught_up = asyncio.Event()
        self.records = 0
        self.partitions: list[TopicPartition] = []
        self._positions: dict[tuple[str, int], int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Condition()

    # --- what it has read ----------------------------------------------------------------------

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
        (await :meth:`wait_caught_up` for the catch-up). Raises if a topic never appears."""
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

    async def read_to_end(self, progress: Progress | None = None) -> int:
        """Read every record up to the end offsets measured at the start, then close; the count.

        Records written meanwhile are not read (a snapshot as of the start)."""
        consumer = await self._open()
        read = 0
        try:
            if not self.partitions:  # every topic missing: nothing to read
                if progress is not None:
                    progress(0, 0)
                return 0
            starts = await consumer.beginning_offsets(self.partitions)
            ends = await end_offsets(consumer, self.partitions)
            remaining = {tp: end for tp, end in ends.items() if end > starts.get(tp, 0)}
            total = sum(end - starts.get(tp, 0) for tp, end in remaining.items())
            if progress is not None:
                progress(0, total)
            while remaining:
                batches = await self._fetch(consumer, list(remaining))
                for tp, messages in batches.items():
                    end = remaining.get(tp)
                    if end is None:
                        continue
                    for m in messages:
                        if m.offset >= end:
                            break
                        self._feed(m)
                        read += 1
                self._note(batches)
                for tp in list(remaining):
                    if self.position(tp.topic, tp.partition) >= remaining[tp] or (
                        await consumer.position(tp) >= remaining[tp]
                    ):
                        del remaining[tp]
                if progress is not None:
                    progress(read, total)
            return read
        finally:
            await self._close()

    # --- inside --------------------------------------------------------------------------------

    async def _open(self) -> AIOKafkaConsumer:
        self.caught_up.clear()
        self._positions.clear()
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
        for topic in self.topics:
            while True:
                parts = consumer.partitions_for_topic(topic)
                if parts:
                    found.extend(TopicPartition(topic, p) for p in sorted(parts))
                    break
                await consumer.topics()  # refreshes the cluster metadata
                if consumer.partitions_for_topic(topic):
                    continue
                if self.topic_wait_s is None:
                    break  # skipped
                if loop.time() > deadline:
                    raise RuntimeError(f"{self.name}: topic {topic} does not exist")
                await asyncio.sleep(0.1)
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

    def _feed(self, m: Any) -> None:
        if self.sink is not None:
            self.sink(m.key, m.value, m.headers, (m.topic, m.partition, m.offset))
        else:
            assert self.on_record is not None
            self.on_record(m)

    def _note(self, batches: Mapping[TopicPartition, Sequence[Any]]) -> None:
        for tp, messages in batches.items():
            if messages:
                self._positions[(tp.topic, tp.partition)] = messages[-1].offset + 1

    async def _follow(self, consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> None:
        pending = {tp: end for tp, end in ends.items() if end > 0}
        if not pending:
            self._mark_caught_up()
        while True:
            batches = await self._fetch(consumer)
            for _tp, messages in batches.items():
                for m in messages:
                    self._feed(m)
                self.records += len(messages)
            self._note(batches)
            if pending:
                for tp, end in list(pending.items()):
                    if self.position(tp.topic, tp.partition) >= end or (
                        await consumer.position(tp) >= end
                    ):
                        del pending[tp]
                if not pending:
                    self._mark_caught_up()
            if batches:
                async with self._progress:
                    self._progress.notify_all()

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s stopped following %s: %r", self.name, self.topics, exc)

    def _mark_caught_up(self) -> None:
        if not self.caught_up.is_set():
            log.info("%s: caught up with %s (%d records)", self.name, self.topics, self.records)
            self.caught_up.set()
