"""The domain end of a followed topic: a record is authenticated, decoded, then applied.

:class:`EventSink` is the :data:`~streams.runtime.RecordSink` the views outside the worker's
routing hand to a :class:`~streams.runtime.TopicFollower` (the API's read model, the webhook views,
the funnel feed, ``oppbus fees verify``). For a topic in
:data:`~streams.record_auth.AUTHENTICATED_TOPICS` it checks the record's MAC *before* parsing the
value: a forged or altered record is never applied (``unauthenticated`` counts it; the router and
the gatekeeper dead-letter it, a view only refuses it). An undecodable record is skipped and
logged with its topic, partition and offset: a view never stops reading because of one bad event.
Tombstones are ignored (nothing these views keep is deleted that way).

:class:`EventFollower` puts the two together for a view that wants events only (the webhook views).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from schemas.codec import Envelope, decode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from streams.record_auth import AUTHENTICATED_TOPICS, RecordAuth
from streams.runtime import TopicFollower
from streams.settings import Settings

__all__ = ["EventFollower", "EventSink", "Followed"]


@dataclass(frozen=True, slots=True)
class Followed:
    """Where an applied event was read: its logical topic, partition, offset and record key."""

    topic: str
    partition: int
    offset: int
    key: str | None


class EventSink:
    """Check, decode and apply each record of the logical ``topics`` with ``apply``.

    ``authenticate=False`` skips the MAC check (a reader that only counts, never grants);
    ``wanted(headers, value)`` false passes a record over before any check (e.g. by its
    ``ce_type``).
    """

    def __init__(
        self,
        settings: Settings,
        topics: Iterable[str],
        apply: Callable[[Envelope, Followed], object],
        *,
        log: logging.Logger,
        authenticate: bool = True,
        skip_level: int = logging.WARNING,
        wanted: Callable[[Sequence[tuple[str, bytes]], bytes], bool] | None = None,
    ) -> None:
        self._logical = {settings.topic(t): t for t in topics}
        self._checked = (
            {full for full, t in self._logical.items() if t in AUTHENTICATED_TOPICS}
            if authenticate
            else set()
        )
        self._auth = RecordAuth.from_settings(settings)
        self._apply = apply
        self._log = log
        self._skip_level = skip_level
        self._wanted = wanted
        self.applied = 0
        self.skipped = 0  # undecodable or unauthenticated
        self.unauthenticated = 0

    @property
    def full_topics(self) -> list[str]:
        """The full names of the topics to follow (``settings.topic`` of each)."""
        return list(self._logical)

    def logical(self, full_topic: str) -> str:
        return self._logical[full_topic]

    def __call__(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        if value is None:
            return  # a tombstone
        if self._wanted is not None and not self._wanted(headers, value):
            return
        topic, partition, offset = origin
        try:
            if topic in self._checked:  # never applied unless the bus wrote it
                self._auth.check(topic, key, value, headers)
            envelope = decode(value, list(headers or ()))
        except InvalidEvent as exc:
            self.skipped += 1
            if exc.reason == "unauthenticated":
                self.unauthenticated += 1
            self._log.log(
                self._skip_level,
                "skipped record topic=%s partition=%d offset=%d: %s",
                topic, partition, offset, exc,
            )  # fmt: skip
            return
        text = key.decode("utf-8", "replace") if key is not None else None
        self._apply(envelope, Followed(self._logical[topic], partition, offset, text))
        self.applied += 1


class EventFollower:
    """Follow the logical ``topics`` from their start into ``apply(event)`` (MACs checked).

    A :class:`~streams.runtime.TopicFollower` fed through an :class:`EventSink`;
    :meth:`start` returns once everything that existed at start-up has been applied (a
    ``TimeoutError`` after ``timeout_s``, the consumer closed), then it keeps following.
    """

    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        apply: Callable[[Contract], object],
        *,
        name: str,
    ) -> None:
        self.sink = EventSink(
            settings,
            topics,
            lambda envelope, _origin: apply(envelope.event),
            log=logging.getLogger(f"oppbus.follow.{name}"),
        )
        self.follower = TopicFollower(
            settings.bootstrap_servers,
            self.sink.full_topics,
            self.sink,
            name=name,
            client_id=f"{settings.app_id}-{name}",
            client_options=settings.kafka_client_options(),
            max_records=1000,
            topic_wait_s=30.0,  # a broker on durable storage may list new topics late
        )

    @property
    def applied(self) -> int:
        return self.sink.applied

    async def start(self, *, timeout_s: float = 30.0) -> None:
        try:
            await self.follower.start()
            async with asyncio.timeout(timeout_s):
                await self.follower.wait_caught_up()
        except BaseException:  # cancelled, failed or late while starting: close what was opened
            await asyncio.shield(self.follower.stop())
            raise

    async def wait_until(self, predicate: Callable[[], bool], *, timeout_s: float) -> bool:
        """Read-your-writes: wait until ``predicate()`` holds after applying records."""
        return await self.follower.wait_until(predicate, timeout_s=timeout_s)

    async def stop(self) -> None:
        await self.follower.stop()
