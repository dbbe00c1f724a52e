"""What the dispatcher and the API know about webhooks, and how they keep it current.

:class:`WebhookViews` is pure and in memory: each partner's latest subscription (last writer wins by
``version``; a stale record changes nothing), the delivery log (every settled
:class:`~schemas.webhooks.WebhookDelivery`, by referral and by ``webhook_id``; a redrive's record,
with a higher ``redrive``, replaces the dead one) and the latest redrive asked per delivery.

:class:`TopicFollower` feeds it: it reads compacted topics from the beginning with no consumer group
(every process that needs the whole table reads every partition itself), and
:meth:`TopicFollower.start` returns once everything that existed at start-up has been applied — so
the dispatcher never handles a lead before it knows the subscriptions — then keeps tailing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.codec import decode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from schemas.webhooks import WebhookDelivery, WebhookRedrive, WebhookSubscription
from streams.record_auth import AUTHENTICATED_TOPICS, RecordAuth
from streams.runtime import end_offsets
from streams.settings import Settings

__all__ = ["FOLLOWER", "VIEWS", "TopicFollower", "WebhookViews"]

log = logging.getLogger("oppbus.webhooks.follower")


@dataclass
class WebhookViews:
    subscriptions: dict[str, WebhookSubscription] = field(default_factory=dict)
    settled: dict[str, WebhookDelivery] = field(default_factory=dict)
    by_referral: dict[str, list[WebhookDelivery]] = field(default_factory=lambda: defaultdict(list))
    redrives: dict[str, WebhookRedrive] = field(default_factory=dict)

    def apply(self, event: Contract) -> bool:
        """Apply one record; True when it changed something."""
        if isinstance(event, WebhookSubscription):
            current = self.subscriptions.get(event.partner_id)
            if current is not None and current.version >= event.version:
                return False
            self.subscriptions[event.partner_id] = event
            return True
        if isinstance(event, WebhookDelivery):
            settled = self.settled.get(event.webhook_id)
            if settled is not None and settled.redrive >= event.redrive:
                return False  # a repeated record; or an older one than a redrive's
            self.settled[event.webhook_id] = event
            log = self.by_referral[event.referral_id]
            if settled is not None:
                log[:] = [d for d in log if d.webhook_id != event.webhook_id]
            log.append(event)
            return True
        if isinstance(event, WebhookRedrive):
            asked = self.redrives.get(event.webhook_id)
            if asked is not None and asked.redrive >= event.redrive:
                return False
            self.redrives[event.webhook_id] = event
            return True
        return False

    def subscription(self, partner_id: str) -> WebhookSubscription | None:
        """The partner's active subscription, if any."""
        sub = self.subscriptions.get(partner_id)
        return sub if sub is not None and sub.active else None

    def is_settled(self, webhook_id: str) -> bool:
        return webhook_id in self.settled

    def log_for(self, partner_id: str, referral_id: str | None = None) -> list[WebhookDelivery]:
        """The partner's delivery log (one lead's when ``referral_id`` is given), oldest first."""
        if referral_id is not None:
            items = self.by_referral.get(referral_id, [])
        else:
            items = [d for ds in self.by_referral.values() for d in ds]
        mine = (d for d in items if d.partner_id == partner_id)
        return sorted(mine, key=lambda d: (d.first_settled, d.webhook_id))


class TopicFollower:
    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        apply: Callable[[Contract], object],
        *,
        name: str,
    ) -> None:
        self._settings = settings
        self._topics = [settings.topic(t) for t in topics]
        self._checked = {settings.topic(t) for t in topics if t in AUTHENTICATED_TOPICS}
        self._auth = RecordAuth.from_settings(settings)
        self._apply = apply
        self._name = name
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.applied = 0

    async def start(self, *, timeout_s: float = 30.0) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            **self._settings.kafka_client_options(),
            enable_auto_commit=False,
            client_id=f"{self._settings.app_id}-{self._name}",
        )
        self._consumer = consumer
        try:
            await consumer.start()
            partitions = []
            for topic in self._topics:
                for p in sorted(consumer.partitions_for_topic(topic) or await self._wait(topic)):
                    partitions.append(TopicPartition(topic, p))
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await end_offsets(consumer, partitions)  # ListOffsets alone is short on Tansu
            async with asyncio.timeout(timeout_s):
                while not await self._caught_up(consumer, ends):
                    await self._poll(consumer)
        except BaseException:  # cancelled or failed while starting: close what was opened
            self._consumer = None
            await asyncio.shield(consumer.stop())
            raise
        self._task = asyncio.create_task(self._tail(consumer), name=f"follow-{self._name}")

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    async def _wait(self, topic: str) -> set[int]:
        assert self._consumer is not None
        for _ in range(50):
            await self._consumer.force_metadata_update()
            found = self._consumer.partitions_for_topic(topic)
            if found:
                return set(found)
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} does not exist")

    async def wait_until(self, predicate: Callable[[], bool], *, timeout_s: float) -> bool:
        """Read-your-writes: wait until ``predicate()`` holds after applying records."""
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            return False
        return True

    async def _poll(self, consumer: AIOKafkaConsumer) -> None:
        batch = await consumer.getmany(timeout_ms=200, max_records=1000)
        if not batch:
            return
        for tp, records in batch.items():
            for record in records:
                if record.value is None:
                    continue
                try:
                    if tp.topic in self._checked:  # never applied unless the bus wrote it
                        self._auth.check(tp.topic, record.key, record.value, record.headers)
                    envelope = decode(record.value, record.headers)
                except InvalidEvent as exc:
                    log.warning(
                        "skipping bad record topic=%s partition=%s offset=%s: %s",
                        tp.topic, tp.partition, record.offset, exc,
                    )  # fmt: skip
                    continue
                self._apply(envelope.event)
                self.applied += 1
        async with self._changed:
            self._changed.notify_all()

    async def _tail(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                await self._poll(consumer)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep following: the next poll retries
                log.exception("following %s failed; retrying", self._name)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()


# Where the API app keeps them (connectors/webhooks/routes.py, admin_routes.py).
VIEWS = web.AppKey("oppbus_webhook_views", WebhookViews)
FOLLOWER = web.AppKey("oppbus_webhook_follower", TopicFollower)
