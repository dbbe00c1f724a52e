"""The read model: one aiokafka consumer in the API process feeding :class:`Views`.

It reads every partition of the partners, credentials, partner-stats, opportunities and referrals
topics from the beginning (no consumer group: every API process builds the whole view), decodes
each record with the contracts codec and applies it. An undecodable record is logged with its
topic, partition and offset and skipped: the API never stops reading because of one bad event.

Read-your-writes: :meth:`ReadModel.wait_for` waits until the record the API itself just published
(its partition and offset) has been applied, so e.g. a new partner's key works on the next request.
:meth:`ReadModel.changes` wakes the lead streams when a partner's referrals change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from connectors.http.guards import GuardTable
from connectors.http.publisher import Published
from connectors.http.views import Referral, Views
from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.fees import FeeRecorded
from schemas.guards import GuardRecord
from streams.record_auth import AUTHENTICATED_TOPICS, RecordAuth
from streams.runtime import end_offsets
from streams.settings import Settings

__all__ = ["READ_TOPICS", "ReadModel"]

log = logging.getLogger("oppbus.api.readmodel")

READ_TOPICS = (
    "credentials",
    "partners",
    "partner-stats",
    "opportunities",
    "referrals",
    "partnerships",
    "fees",
    "api-guards",
)

Listener = Callable[[list[Referral]], None]


class ReadModel:
    """Consumes the bus into ``views``; started and stopped with the web app."""

    def __init__(self, settings: Settings, views: Views) -> None:
        self.settings = settings
        self.views = views
        self.guards = GuardTable()  # api-guards: the replay guards shared by every API process
        self._auth = RecordAuth.from_settings(settings)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._positions: dict[tuple[str, int], int] = {}
        self._logical: dict[str, str] = {settings.topic(t): t for t in READ_TOPICS}
        self._progress = asyncio.Condition()
        self._listeners: set[Listener] = set()
        self._fee_listeners: set[Callable[[FeeRecorded], None]] = set()
        self.skipped = 0
        self.applied = 0

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, catch_up_timeout_s: float = 30.0) -> None:
        """Assign every partition, read from the beginning, and return once caught up."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            **self.settings.kafka_client_options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"{self.settings.app_id}-api-readmodel",
            fetch_max_wait_ms=20,  # bench api: 100 ms gave 52 ms p50 lead latency, 20 ms 12 ms
        )
        try:
            await consumer.start()
        except BaseException:  # a failed start leaves the client and its connection open
            await consumer.stop()
            raise
        self._consumer = consumer
        partitions: list[TopicPartition] = []
        for full in self._logical:
            found = await self._partitions_of(consumer, full)
            partitions.extend(TopicPartition(full, p) for p in sorted(found))
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await end_offsets(consumer, partitions)  # ListOffsets alone is short on Tansu
        self._task = asyncio.create_task(self._run(), name="oppbus-api-readmodel")
        targets = [
            Published(self._logical[tp.topic], tp.partition, end - 1, "")
            for tp, end in ends.items()
            if end > 0
        ]
        deadline = time.monotonic() + catch_up_timeout_s
        for target in targets:
            if not await self.wait_for(target, timeout_s=max(0.0, deadline - time.monotonic())):
                log.warning("read model not caught up with %s after start", target)

    @staticmethod
    async def _partitions_of(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        for _ in range(50):
            found = consumer.partitions_for_topic(topic)
            if found:
                return set(found)
            await consumer.topics()  # refreshes the cluster metadata
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} does not exist; create the bus topics first")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    # --- consuming ---------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            if not batches:
                continue
            for tp, records in batches.items():
                for record in records:
                    self._apply(tp, record)
                if records:
                    self._positions[(tp.topic, tp.partition)] = records[-1].offset + 1
            async with self._progress:
                self._progress.notify_all()

    def _apply(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        logical = self._logical[tp.topic]
        if record.value is None:
            return  # a tombstone on a compacted topic: nothing we keep is deleted this way
        try:
            if logical in AUTHENTICATED_TOPICS:
                self._auth.check(tp.topic, record.key, record.value, record.headers)
            envelope = decode(record.value, list(record.headers or ()))
        except InvalidEvent as exc:
            self.skipped += 1
            log.warning(
                "skipped record topic=%s partition=%d offset=%d: %s",
                tp.topic,
                tp.partition,
                record.offset,
                exc,
            )
            return
        if isinstance(envelope.event, GuardRecord):
            self.guards.apply(envelope.event)
            self.applied += 1
            return
        key = record.key.decode("utf-8", "replace") if record.key is not None else None
        changed = self.views.apply(envelope.event, topic=logical, key=key)
        self.applied += 1
        if changed:
            for listener in list(self._listeners):
                listener(changed)
        if isinstance(envelope.event, FeeRecorded):
            for fee_listener in list(self._fee_listeners):
                fee_listener(envelope.event)

    # --- read-your-writes and change notification ------------------------------------------

    def caught_up_with(self, published: Published) -> bool:
        full = self.settings.topic(published.topic)
        return self._positions.get((full, published.partition), 0) > published.offset

    async def wait_for(self, published: Published, *, timeout_s: float = 5.0) -> bool:
        """True once the record at ``published`` is applied to the views; False on timeout."""
        if published.topic not in READ_TOPICS:
            return True
        try:
            async with asyncio.timeout(timeout_s):
                async with self._progress:
                    await self._progress.wait_for(lambda: self.caught_up_with(published))
        except TimeoutError:
            return False
        return True

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait (cancel with a timeout) until ``predicate()`` holds after an applied batch."""
        async with self._progress:
            await self._progress.wait_for(predicate)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(changed_referrals)`` after each change; returns the unsubscribe."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    def listen_fees(self, listener: Callable[[FeeRecorded], None]) -> Callable[[], None]:
        """Call ``listener(fee_event)`` for each fee event applied; returns the unsubscribe."""
        self._fee_listeners.add(listener)
        return lambda: self._fee_listeners.discard(listener)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
