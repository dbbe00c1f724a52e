"""The read model: one topic follower in the API process feeding :class:`Views`.

It reads every partition of the partners, credentials, partner-stats, opportunities and referrals
topics (and the others of ``READ_TOPICS``) from the beginning (a ``TopicFollower``: no consumer
group, every API process builds the whole view); an ``EventSink`` checks each record's MAC where
the topic needs one, decodes it with the contracts codec and applies it. A forged or undecodable
record is logged with its topic, partition and offset and skipped: the API never stops reading
because of one bad event.

Bounded: every second (the API's clock) the views forget what closed more than
``closed_retention_s`` ago (:meth:`Views.expire`); the replay guards drop the slots that expired
as they read (:class:`GuardTable`). An API that runs for months holds what is open plus the
retention's worth of history.

Read-your-writes: :meth:`ReadModel.wait_for` waits until the record the API itself just published
(its partition and offset) has been applied, so e.g. a new partner's key works on the next request.
:meth:`ReadModel.changes` wakes the lead streams when a partner's referrals change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from connectors.http.guards import GuardTable
from connectors.http.publisher import Published
from connectors.http.views import Referral, Views
from schemas.codec import Envelope
from schemas.fees import FeeRecorded
from schemas.guards import GuardRecord
from streams.event_sink import EventSink, Followed
from streams.runtime import TopicFollower
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
SWEEP_EVERY_S = 1.0
READ_FETCH_WAIT_MS = 20  # the read model's fetch wait, unless the bus's is longer


class ReadModel:
    """Consumes the bus into ``views``; started and stopped with the web app."""

    def __init__(self, settings: Settings, views: Views) -> None:
        self.settings = settings
        self.views = views
        self.guards = GuardTable()  # api-guards: the replay guards shared by every API process
        self._sink = EventSink(settings, READ_TOPICS, self._apply, log=log)
        self._follower = TopicFollower(
            settings.bootstrap_servers,
            self._sink.full_topics,
            self._sink,
            name="api-readmodel",
            client_id=f"{settings.app_id}-api-readmodel",
            client_options=settings.kafka_client_options(),
            # bench api: 100 ms gave 52 ms p50 lead latency, 20 ms 12 ms; a bus set for a
            # sustained load on the embedded broker (OPPBUS_FETCH_WAIT_MS=100) waits as long
            fetch_wait_ms=max(READ_FETCH_WAIT_MS, settings.fetch_wait_ms),
            max_records=2000,
            topic_wait_s=30.0,  # a broker on durable storage may list new topics late
        )
        self._listeners: set[Listener] = set()
        self._fee_listeners: set[Callable[[FeeRecorded], None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def applied(self) -> int:
        return self._sink.applied

    @property
    def skipped(self) -> int:
        """Records not applied: undecodable, or without the bus's MAC on a topic that needs it."""
        return self._sink.skipped

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, catch_up_timeout_s: float = 30.0) -> None:
        """Assign every partition, read from the beginning, and return once caught up."""
        await self._follower.start()
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_every(SWEEP_EVERY_S))
        try:
            async with asyncio.timeout(catch_up_timeout_s):
                await self._follower.wait_caught_up()
        except TimeoutError:
            log.warning("read model not caught up after %.0f s", catch_up_timeout_s)

    async def stop(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.wait([sweeper])
        await self._follower.stop()

    async def _sweep_every(self, period_s: float) -> None:
        while True:  # also while catching up: the follower yields between batches
            await asyncio.sleep(period_s)
            self.views.expire(datetime.now(UTC))

    # --- consuming ---------------------------------------------------------------------------

    def _apply(self, envelope: Envelope, origin: Followed) -> None:
        if isinstance(envelope.event, GuardRecord):
            self.guards.apply(envelope.event)
            return
        changed = self.views.apply(
            envelope.event, topic=origin.topic, key=origin.key, at=envelope.time
        )
        if changed:
            for listener in list(self._listeners):
                listener(changed)
        if isinstance(envelope.event, FeeRecorded):
            for fee_listener in list(self._fee_listeners):
                fee_listener(envelope.event)

    # --- read-your-writes and change notification ------------------------------------------

    def caught_up_with(self, published: Published) -> bool:
        full = self.settings.topic(published.topic)
        return self._follower.position(full, published.partition) > published.offset

    async def wait_for(self, published: Published, *, timeout_s: float = 5.0) -> bool:
        """True once the record at ``published`` is applied to the views; False on timeout."""
        if published.topic not in READ_TOPICS:
            return True
        return await self._follower.wait_until(
            lambda: self.caught_up_with(published), timeout_s=timeout_s
        )

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait (cancel with a timeout) until ``predicate()`` holds after an applied batch."""
        await self._follower.wait_until(predicate, timeout_s=None)

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
        return self._follower.running

    @property
    def caught_up(self) -> bool:
        """True once everything on the bus when it started has been applied (stays true)."""
        return self._follower.caught_up.is_set()
