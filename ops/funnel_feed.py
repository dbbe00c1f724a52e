"""The funnel feed: the API process reads the ledger and watches the workers' consumer group.

A topic follower (``streams.runtime.TopicFollower``: no group) reads every partition of the
opportunities, referrals, deadletter, routing-policy and fees topics from the beginning (so a
restarted API rebuilds the same counts) and hands each decoded event to a
:class:`~ops.funnel.FunnelRecorder`. Every ``lag_interval_s`` it measures the lag of the workers'
group (``Settings.app_id``) per topic — end offsets minus committed offsets — and whether the
group has live members (``worker_up``).

It never takes the API down: until the topics exist, or while the broker is away, it retries with
a growing pause and says why on the status page. Undecodable records and records the bus did not write
(no valid MAC) are skipped (they are the router's to dead-letter, not ours).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from ops.funnel import FunnelRecorder
from schemas.codec import Envelope
from schemas.topics import TOPICS
from streams.event_sink import EventSink, Followed
from streams.runtime import TopicFollower, start_whole
from streams.settings import Settings

__all__ = ["FEED_TOPICS", "FunnelFeed"]

log = logging.getLogger(__name__)

# Counts for /metrics and the status page: a second late costs nothing there, while on the
# embedded broker every fetch that finds new data lists all the batches of the partition
# (docs/embedded-broker.md), so once caught up the feed fetches at most once a second. The wait
# alone does not do it: under a steady flow every fetch finds a new record and is answered at once.
FEED_FETCH_WAIT_MS = 1000
FEED_PACE_S = 1.0

FEED_TOPICS = ("opportunities", "referrals", "deadletter", "routing-policy", "fees")


class FunnelFeed:
    """Background task of the API process; ``start()`` returns at once, ``stop()`` cleans up."""

    def __init__(
        self,
        settings: Settings,
        recorder: FunnelRecorder,
        *,
        lag_interval_s: float = 5.0,
        retry_max_s: float = 10.0,
    ) -> None:
        self._settings = settings
        self._recorder = recorder
        self._lag_interval_s = lag_interval_s
        self._retry_max_s = retry_max_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.assigned = asyncio.Event()
        # The status page's counts are the bus's own: a record the bus did not write (no MAC, or
        # another key) is skipped, so nobody with broker access can inflate or fake them.
        self._sink = EventSink(
            settings, FEED_TOPICS, self._apply, log=log, skip_level=logging.DEBUG
        )

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="oppbus-funnel-feed")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Ask the loop to finish at its next safe point (never inside a client's start(),
        which would leave a half-open connection behind); cancel only after ``grace_s``."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _run(self) -> None:
        pause = 0.5
        board = self._recorder.board
        while not self._stopping.is_set():
            try:
                await self._consume()
            except (KafkaError, OSError, TimeoutError) as exc:
                board.set_feed_error(f"broker: {type(exc).__name__}")
                log.warning("funnel feed: %s; retrying in %.1fs", exc, pause)
            await self._pause(pause)
            pause = min(pause * 2, self._retry_max_s)

    def _client_args(self) -> dict[str, object]:
        return {
            "bootstrap_servers": self._settings.bootstrap_servers,
            "client_id": f"{self._settings.app_id}-funnel",
            **self._settings.kafka_client_options(),
        }

    async def _consume(self) -> None:
        admin = AIOKafkaAdminClient(**self._client_args())
        follower: TopicFollower | None = None
        try:  # start() inside: a cancel or a failure while starting still closes both
            await start_whole(admin.start())
            names = await self._wait_for_topics(admin)
            if not names:
                return  # stopping
            follower = TopicFollower(
                self._settings.bootstrap_servers,
                names,
                self._sink,
                name="funnel",
                client_id=f"{self._settings.app_id}-funnel",
                client_options=self._settings.kafka_client_options(),
                max_records=2000,
                topic_wait_s=5.0,
                fetch_wait_ms=max(FEED_FETCH_WAIT_MS, self._settings.fetch_wait_ms),
                pace_s=FEED_PACE_S,
            )
            await follower.start()
            self.assigned.set()
            self._recorder.board.set_feed_error(None)
            while not self._stopping.is_set():
                if follower.task is not None and follower.task.done():
                    follower.task.result()  # raises what stopped the follower
                await self._measure_lag(follower, admin)
                await self._pause(self._lag_interval_s)
        finally:
            if follower is not None:
                with contextlib.suppress(KafkaError, OSError):
                    await follower.stop()
            with contextlib.suppress(KafkaError, OSError):
                await admin.close()

    async def _wait_for_topics(self, admin: AIOKafkaAdminClient) -> list[str]:
        names = [self._settings.topic(t) for t in FEED_TOPICS]
        pause = 0.5
        while not self._stopping.is_set():
            found = await _partitions(admin, names)
            missing = [n for n in names if not found.get(n)]
            if not missing:
                return names
            self._recorder.board.set_feed_error(f"waiting for topics: {', '.join(missing)}")
            await self._pause(pause)
            pause = min(pause * 2, self._retry_max_s)
        return []

    def _apply(self, envelope: Envelope, origin: Followed) -> None:
        del origin
        self._recorder.record(envelope)

    async def _measure_lag(self, follower: TopicFollower, admin: AIOKafkaAdminClient) -> None:
        group = self._settings.app_id
        names = [self._settings.topic(spec.name) for spec in TOPICS]
        try:
            found = await _partitions(admin, names)
            wanted = [TopicPartition(n, p) for n, parts in found.items() for p in parts]
            committed = await admin.list_consumer_group_offsets(group, partitions=wanted)
            # Only partitions the group has committed on (the first end-offsets request for a
            # topic the consumer does not follow waits for a metadata refresh: seconds).
            known = [tp for tp, meta in committed.items() if meta.offset >= 0]
            ends = await follower.end_offsets(known)  # not ListOffsets alone (Tansu)
            described = await admin.describe_consumer_groups([group])
        except KafkaError as exc:
            log.info("funnel feed: lag of group %s unavailable: %s", group, exc)
            return
        lag: dict[str, int] = defaultdict(int)
        for tp, meta in committed.items():
            if meta.offset >= 0 and tp in ends:
                lag[tp.topic.removeprefix(self._settings.topic_prefix + ".")] += max(
                    0, ends[tp] - meta.offset
                )
        for topic, value in lag.items():
            self._recorder.metrics.consumer_lag(topic, value)
        self._recorder.board.set_lag(dict(lag))
        up = _has_members(described)
        self._recorder.metrics.worker_up(up)
        self._recorder.board.set_worker_up(up)


async def _partitions(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, list[int]]:
    """Partition numbers of those ``names`` that exist (never asks for a missing topic by name,
    so a broker that auto-creates topics on metadata requests creates nothing)."""
    existing = set(await admin.list_topics())
    present = [n for n in names if n in existing]
    if not present:
        return {}
    out: dict[str, list[int]] = {}
    for topic in await admin.describe_topics(present):
        if topic["error_code"] == 0 and topic["partitions"]:
            out[topic["topic"]] = sorted(p["partition"] for p in topic["partitions"])
    return out


def _has_members(described: list[object]) -> bool:
    """True when a DescribeGroups answer shows a live group with at least one member."""
    for response in described:
        for group in getattr(response, "groups", ()):
            error_code, state, members = group[0], group[2], group[5]
            if error_code == 0 and state not in ("Dead", "Empty") and len(members) > 0:
                return True
    return False
