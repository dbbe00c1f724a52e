"""The webhook dispatcher: the referral ledger in, signed POSTs to subscribing partners out.

Runs in the worker (``streams.wiring`` registers it as a Faust service, so ``oppbus up`` and
``oppbus worker`` run it) with its own consumer group on the ``referrals`` topic, so a slow partner
never holds up routing. Each ledger event about a partner with an active subscription becomes one
job in *that partner's* queue; one task per partner delivers its jobs in order (an offer before its
reveal), and a global semaphore bounds concurrent requests. A hanging endpoint therefore costs its
own partner a timeout per attempt and nobody else anything. A full partner queue dead-letters new
jobs instead of blocking the consumer.

Delivery is at-least-once on the wire and exactly-once as the receiver sees it: the ``webhook-id``
is ``<referral_id>.<event>`` (the same on every redelivery), every settled delivery is recorded on
the compacted ``webhook-deliveries`` topic (acks=all) *before* the offset is committed, and jobs whose
id is already recorded are skipped. The only duplicate is a crash between the receiver's 2xx and
that record: it carries the same id, and Standard Webhooks receivers dedupe on it.
After the last failed attempt (or a final answer: 3xx/4xx, refused target) the delivery is recorded
as ``dead`` and the ledger event goes to the ``deadletter`` topic with reason ``webhook_exhausted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from connectors.webhooks.policy import (
    OffsetTracker,
    backoff_s,
    lead_event_of,
    lead_partner,
    payload,
    verdict,
)
from connectors.webhooks.sender import AttemptResult, HttpSender, Sender
from connectors.webhooks.signing import signed_headers
from connectors.webhooks.ssrf import TargetPolicy
from connectors.webhooks.views import WebhookViews
from schemas.codec import Envelope, decode, encode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from schemas.events import event_key
from schemas.operations import dead_letter
from schemas.webhooks import DeliveryAttempt, LeadEvent, WebhookDelivery, webhook_id
from streams.event_sink import EventFollower
from streams.metrics import ReferralMetrics
from streams.record_auth import RecordAuth
from streams.settings import Settings

__all__ = ["SOURCE", "WebhookDispatcher"]

log = logging.getLogger("oppbus.webhooks")

SOURCE = "oppbus/webhooks"


@dataclass
class _Job:
    tp: TopicPartition
    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope
    partner_id: str
    lead_event: LeadEvent
    webhook_id: str


class _Revoked(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self._dispatcher = dispatcher

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._dispatcher.commit()
        self._dispatcher.offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        del assigned


class WebhookDispatcher:
    def __init__(
        self,
        settings: Settings,
        *,
        sender: Sender | None = None,
        metrics: ReferralMetrics | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._auth = RecordAuth.from_settings(settings)
        self.views = WebhookViews()
        self.offsets = OffsetTracker()
        self._policy = TargetPolicy.parse(settings.webhook_allowed_networks)
        self._sender = sender or HttpSender(self._policy)
        self._metrics = metrics
        self._rng = rng or random.Random()
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._queues: dict[str, asyncio.Queue[_Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._inflight: set[str] = set()
        self._follower = EventFollower(
            settings, ["webhooks", "webhook-deliveries"], self.views.apply, name="webhooks-views"
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._loop_task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:  # cancelled or failed while starting: close what was opened
            await asyncio.shield(self.stop())
            raise

    async def _start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            **self.settings.kafka_client_options(),
            acks="all",
            linger_ms=0,
            client_id=f"{self.settings.app_id}-webhooks",
        )
        await self._producer.start()
        await self._follower.start()
        timeout_ms = int(self.settings.session_timeout_s * 1000)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            **self.settings.kafka_client_options(),
            group_id=f"{self.settings.app_id}-webhooks",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=timeout_ms,
            heartbeat_interval_ms=max(500, timeout_ms // 6),
            rebalance_timeout_ms=timeout_ms,
            client_id=f"{self.settings.app_id}-webhooks",
        )
        await self._consumer.start()
        self._consumer.subscribe([self.settings.topic("referrals")], listener=_Revoked(self))
        self._loop_task = asyncio.create_task(self._consume(), name="webhooks-consume")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = None
        self._workers.clear()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self.commit()
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
        await self._follower.stop()
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
        await self._sender.close()

    async def commit(self) -> None:
        offsets = self.offsets.to_commit()
        if offsets and self._consumer is not None:
            await self._consumer.commit(offsets)
            self.offsets.committed(offsets)

    # --- consuming ------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=300, max_records=500)
            for tp, records in batch.items():
                for record in records:
                    self.offsets.seen(tp, record.offset)
                    job = self._job_for(tp, record)
                    if job is None:
                        self.offsets.settle(tp, record.offset)
                    else:
                        await self._enqueue(job)
            try:
                await self.commit()
            except Exception as exc:  # a failed commit is retried with the next batch
                log.warning("webhooks: commit failed: %s", exc)

    def _job_for(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> _Job | None:
        if record.value is None:
            return None
        about = lead_partner(record.value, record.headers)
        if about is None or (about and self.views.subscription(about) is None):
            return None  # no lead event, or one for a partner without a subscription
        try:
            self._auth.check(tp.topic, record.key, record.value, record.headers)
            envelope = decode(record.value, record.headers)
        except InvalidEvent as exc:
            log.warning(
                "webhooks: refused record topic=%s partition=%s offset=%s: %s",
                tp.topic, tp.partition, record.offset, exc.reason,
            )  # fmt: skip
            return None
        lead_event = lead_event_of(envelope.event)
        partner_id: str | None = getattr(envelope.event, "partner_id", None)
        referral_id: str | None = getattr(envelope.event, "referral_id", None)
        if lead_event is None or partner_id is None or referral_id is None:
            return None
        sub = self.views.subscription(partner_id)
        if sub is None or lead_event not in sub.events:
            return None
        wid = webhook_id(referral_id, lead_event)
        if self.views.is_settled(wid) or wid in self._inflight:
            return None
        return _Job(tp, record, envelope, partner_id, lead_event, wid)

    async def _enqueue(self, job: _Job) -> None:
        queue = self._queues.get(job.partner_id)
        if queue is None:
            queue = self._queues[job.partner_id] = asyncio.Queue(self.settings.webhook_queue_limit)
            self._workers[job.partner_id] = asyncio.create_task(
                self._partner_worker(queue), name=f"webhooks-{job.partner_id}"
            )
        self._inflight.add(job.webhook_id)
        try:
            queue.put_nowait(job)
        except asyncio.QueueFull:
            now = self._now()
            attempt = DeliveryAttempt(
                at=now, error="not attempted: partner backlog full", duration_ms=0
            )
            await self._settle(job, "dead", [attempt], url="", detail="partner backlog full")

    async def _partner_worker(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._deliver(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # never lose the worker: the job stays unsettled, redelivered later
                log.exception("webhooks: delivery failed unexpectedly %s", _where(job))
                self._inflight.discard(job.webhook_id)
            finally:
                queue.task_done()

    # --- delivering -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _deliver(self, job: _Job) -> None:
        body = payload(job.lead_event, job.envelope.event, job.envelope.time)
        attempts: list[DeliveryAttempt] = []
        url = ""
        max_attempts = self.settings.webhook_max_attempts
        for n in range(1, max_attempts + 1):
            sub = self.views.subscription(job.partner_id)
            if sub is None or job.lead_event not in sub.events:
                if not attempts:  # unsubscribed before the first attempt: nothing to record
                    self._inflight.discard(job.webhook_id)
                    self.offsets.settle(job.tp, job.record.offset)
                    return
                await self._settle(job, "dead", attempts, url, "subscription removed")
                return
            url = sub.url
            headers = signed_headers([sub.secret], job.webhook_id, int(self._clock()), body)
            at = self._now()
            async with self._slots:
                result = await self._sender.post(
                    url, body, headers, timeout_s=self.settings.webhook_timeout_s
                )
            attempts.append(_attempt(at, result))
            outcome = "final" if result.unsafe else verdict(result.status)
            if outcome == "delivered":
                if self._metrics:
                    self._metrics.webhook_delivered()
                await self._settle(job, "delivered", attempts, url)
                return
            if self._metrics:
                self._metrics.webhook_failed(_failure_reason(result))
            log.info(
                "webhooks: attempt %d/%d failed (%s) %s",
                n, max_attempts, result.status or result.error, _where(job),
            )  # fmt: skip
            if outcome == "final" or n == max_attempts:
                break
            await asyncio.sleep(
                backoff_s(
                    n,
                    base_s=self.settings.webhook_backoff_base_s,
                    cap_s=self.settings.webhook_backoff_max_s,
                    rng=self._rng,
                )
            )
        last = attempts[-1]
        detail = f"{len(attempts)} attempt(s) failed; last: {last.status or last.error}"
        await self._settle(job, "dead", attempts, url, detail)

    async def _settle(
        self,
        job: _Job,
        outcome: str,
        attempts: list[DeliveryAttempt],
        url: str,
        detail: str = "",
    ) -> None:
        event = job.envelope.event
        record = WebhookDelivery(
            webhook_id=job.webhook_id,
            partner_id=job.partner_id,
            referral_id=getattr(event, "referral_id"),  # noqa: B009 - checked in _job_for
            opportunity_id=getattr(event, "opportunity_id"),  # noqa: B009
            originator=getattr(event, "originator"),  # noqa: B009
            event=job.lead_event,
            outcome="delivered" if outcome == "delivered" else "dead",
            url=url,
            attempts=tuple(attempts[-50:]),
            settled_at=self._now(),
        )
        await self._publish(record, "webhook-deliveries", record.webhook_id)
        if outcome != "delivered":
            await self._dead_letter(job, detail)
        self.views.apply(record)
        self._inflight.discard(job.webhook_id)
        self.offsets.settle(job.tp, job.record.offset)

    async def _dead_letter(self, job: _Job, detail: str) -> None:
        record = job.record
        letter = dead_letter(
            InvalidEvent("webhook_exhausted", f"{job.webhook_id}: {detail}"[:2000]),
            source_topic=job.tp.topic,
            partition=job.tp.partition,
            offset=record.offset,
            key=record.key,
            value=record.value or b"",
            headers=[(name, bytes(value)) for name, value in record.headers],
            at=self._now(),
            consumer="webhooks",
        )
        if self._metrics:
            self._metrics.dead_lettered("webhook_exhausted")
        key = event_key(letter)
        await self._publish(letter, "deadletter", key.decode() if key else None)

    async def _publish(self, event: Contract, topic: str, key: str | None) -> None:
        """Publish and wait for the broker's ack, retrying until it answers (or we stop)."""
        assert self._producer is not None
        encoded = encode(event, source=SOURCE)
        full = self.settings.topic(topic)
        raw_key = key.encode() if key is not None else None
        headers = self._auth.stamp(full, raw_key, encoded.value, encoded.headers)
        delay = 0.2
        while True:
            try:
                await self._producer.send_and_wait(
                    full, value=encoded.value, key=raw_key, headers=headers
                )
                return
            except Exception as exc:
                log.warning("webhooks: publishing to %s failed (%s); retrying", topic, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


def _where(job: _Job) -> str:
    """What a log line about a delivery names: its input record, event and webhook."""
    return (
        f"topic={job.tp.topic} partition={job.tp.partition} offset={job.record.offset} "
        f"event_id={job.envelope.id} webhook_id={job.webhook_id} partner={job.partner_id}"
    )


def _attempt(at: datetime, result: AttemptResult) -> DeliveryAttempt:
    return DeliveryAttempt(
        at=at, status=result.status, error=result.error, duration_ms=result.duration_ms
    )


def _failure_reason(result: AttemptResult) -> str:
    if result.status is not None:
        return "http_5xx" if result.status >= 500 else "http_4xx"
    error = result.error or ""
    return "timeout" if error.startswith("timeout") else "connection"
