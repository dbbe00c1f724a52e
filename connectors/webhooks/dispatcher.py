"""The webhook dispatcher: the referral and fee ledgers in, signed POSTs to subscribing partners out.

Runs in the worker (``streams.wiring`` registers it as a Faust service, so ``oppbus up`` and
``oppbus worker`` run it) with its own consumer group on the ``referrals``, ``fees`` and
``webhook-redrives`` topics, so a slow partner never holds up routing. Each ledger event about a
partner with an active subscription becomes one job in *that partner's* queue (a fee event one for
its payer and one for its payee; connectors/webhooks/policy.py); the operator's redrive of a dead
delivery becomes a job too (connectors/webhooks/redrive.py); one task per partner delivers its jobs in order (an offer before its
reveal), and a global semaphore bounds concurrent requests. A hanging endpoint therefore costs its
own partner a timeout per attempt and nobody else anything. A full partner queue dead-letters new
jobs instead of blocking the consumer.

Delivery is at-least-once on the wire and exactly-once as the receiver sees it: the ``webhook-id``
is ``<referral_id>.<event>`` (the same on every redelivery), every settled delivery is recorded on
the compacted ``webhook-deliveries`` topic (acks=all) *before* the offset is committed, and jobs whose
id is already recorded are skipped (a redrive's record, numbered, supersedes the dead one). The
only duplicate is a crash between the receiver's 2xx and
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
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from connectors.webhooks.jobs import Job, attempt_of, delivery_record, failure_reason, job_name
from connectors.webhooks.policy import (
    OffsetTracker,
    backoff_s,
    cloudevent_headers,
    delivery_targets,
    lead_partner,
    payload,
    verdict,
)
from connectors.webhooks.redrive import SourceReader, describes, refusal
from connectors.webhooks.sender import HttpSender, Sender
from connectors.webhooks.signing import signed_headers
from connectors.webhooks.ssrf import TargetPolicy
from connectors.webhooks.views import WebhookViews
from schemas.codec import Envelope, decode, encode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from schemas.events import event_key
from schemas.operations import dead_letter
from schemas.webhooks import (
    DeliveryAttempt,
    RecordPosition,
    WebhookRedrive,
)
from streams.event_sink import EventFollower
from streams.metrics import ReferralMetrics
from streams.record_auth import RecordAuth
from streams.settings import Settings

__all__ = ["SOURCE", "WebhookDispatcher"]

log = logging.getLogger("oppbus.webhooks")

SOURCE = "oppbus/webhooks"


# How long a redrive waits for this worker's view to know the dead delivery it names.
_REDRIVE_VIEW_WAIT_S = 10.0
# At most one fetch of the ledgers per this long (or the fetch wait, when longer) unless the last
# one was full: under a steady flow every fetch is answered at once, and on the embedded broker each
# lists the partitions' batches (streams/runtime/README.md, row "paced fetching").
_PACE_S = 0.1
_MAX_RECORDS = 500


class _Revoked(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self._dispatcher = dispatcher

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._dispatcher.commit()
        self._dispatcher.forget(set(revoked))

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
        self.views = WebhookViews(retention_s=settings.closed_retention_s)
        self.offsets = OffsetTracker()
        self._policy = TargetPolicy.parse(settings.webhook_allowed_networks)
        self._sender = sender or HttpSender(self._policy)
        self._metrics = metrics
        self._rng = rng or random.Random()
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._inflight: set[str] = set()
        self._follower = EventFollower(
            settings, ["webhooks", "webhook-deliveries"], self.views.apply, name="webhooks-views"
        )
        self._reader = SourceReader(settings)
        self._holds: dict[tuple[TopicPartition, int], int] = {}  # jobs open per input record
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
            linger_ms=self.settings.producer_linger_ms,
            client_id=f"{self.settings.app_id}-webhooks",
        )
        await self._producer.start()
        await self._follower.start()
        await self._reader.start()
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
        topics = [self.settings.topic(t) for t in ("referrals", "fees", "webhook-redrives")]
        self._consumer.subscribe(topics, listener=_Revoked(self))
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
        await self._reader.stop()
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
        await self._sender.close()

    def forget(self, revoked: set[TopicPartition]) -> None:
        """Partitions revoked in a rebalance: their records are someone else's now."""
        self.offsets.forget(revoked)
        self._holds = {where: n for where, n in self._holds.items() if where[0] not in revoked}

    async def commit(self) -> None:
        offsets = self.offsets.to_commit()
        if offsets and self._consumer is not None:
            await self._consumer.commit(offsets)
            self.offsets.committed(offsets)

    # --- consuming ------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._consumer is not None
        redrives = self.settings.topic("webhook-redrives")
        pace_s = max(_PACE_S, self.settings.fetch_wait_ms / 1000)
        loop = asyncio.get_running_loop()
        next_fetch = loop.time()
        while True:
            await asyncio.sleep(max(0.0, next_fetch - loop.time()))
            batch = await self._consumer.getmany(timeout_ms=300, max_records=_MAX_RECORDS)
            full = sum(len(records) for records in batch.values()) >= _MAX_RECORDS
            next_fetch = loop.time() + (0.0 if full else pace_s)  # full: more is waiting
            for tp, records in batch.items():
                for record in records:
                    self.offsets.seen(tp, record.offset)
                    if tp.topic == redrives:
                        jobs = await self._redrive_jobs(tp, record)
                    else:
                        jobs = self._jobs_for(tp, record)
                    if not jobs:
                        self.offsets.settle(tp, record.offset)
                        continue
                    self._holds[(tp, record.offset)] = len(jobs)
                    for job in jobs:
                        await self._enqueue(job)
            try:
                await self.commit()
            except Exception as exc:  # a failed commit is retried with the next batch
                log.warning("webhooks: commit failed: %s", exc)

    def _release(self, job: Job) -> None:
        """One job of its input record is done; the record settles when all of them are."""
        where = (job.tp, job.record.offset)
        left = self._holds.get(where, 1) - 1
        if left > 0:
            self._holds[where] = left
            return
        self._holds.pop(where, None)
        self.offsets.settle(job.tp, job.record.offset)

    def _checked(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> Envelope | None:
        assert record.value is not None
        try:
            self._auth.check(tp.topic, record.key, record.value, record.headers)
            return decode(record.value, record.headers)
        except InvalidEvent as exc:
            log.warning(
                "webhooks: refused record topic=%s partition=%s offset=%s: %s",
                tp.topic, tp.partition, record.offset, exc.reason,
            )  # fmt: skip
            return None

    def _jobs_for(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> list[Job]:
        if record.value is None:
            return []
        fees = tp.topic == self.settings.topic("fees")
        if not fees:
            about = lead_partner(record.value, record.headers)
            if about is None or (about and self.views.subscription(about) is None):
                return []  # no lead event, or one for a partner without a subscription
        envelope = self._checked(tp, record)
        if envelope is None:
            return []
        targets = delivery_targets(envelope.event)
        position = RecordPosition(
            topic="fees" if fees else "referrals", partition=tp.partition, offset=record.offset
        )
        jobs = []
        for partner, kind, wid in targets:
            sub = self.views.subscription(partner)
            if sub is None or kind not in sub.events:
                continue
            if self.views.is_settled(wid) or wid in self._inflight:
                continue
            jobs.append(Job(tp, record, envelope, partner, kind, wid, position))
        return jobs

    async def _redrive_jobs(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]
    ) -> list[Job]:
        """The job of an operator's redrive, or none (forged: dead-lettered; done or moot)."""
        if record.value is None:
            return []
        try:
            self._auth.check(tp.topic, record.key, record.value, record.headers)
            asked = decode(record.value, record.headers).event
            if not isinstance(asked, WebhookRedrive):
                raise InvalidEvent("schema", "not a webhook redrive")
        except InvalidEvent as exc:
            log.warning(
                "webhooks: dead-lettered redrive topic=%s partition=%s offset=%s: %s",
                tp.topic, tp.partition, record.offset, exc,
            )  # fmt: skip
            await self._dead_letter(tp, record, exc)
            return []
        wid = asked.webhook_id

        def known() -> bool:
            return wid in self.views.settled

        await self._follower.wait_until(known, timeout_s=_REDRIVE_VIEW_WAIT_S)
        current = self.views.settled.get(wid)
        why = refusal(current, asked)
        if why is None and wid in self._inflight:
            why = "in_flight"
        if why is not None or current is None or current.source is None:
            log.info("webhooks: redrive %s #%d not carried out: %s", wid, asked.redrive, why)
            return []
        source = current.source
        raw = await self._reader.read(
            self.settings.topic(source.topic), source.partition, source.offset
        )
        envelope = None
        if raw is not None and raw.value is not None:
            envelope = self._checked(TopicPartition(raw.topic, raw.partition), raw)
        job = Job(tp, record, envelope, current.partner_id, current.event, wid, source,
                   redrive=current)  # fmt: skip
        if envelope is None or not describes(envelope, current):
            self._inflight.add(wid)
            gone = DeliveryAttempt(
                at=self._now(), error="not attempted: the event is no longer on the log",
                duration_ms=0,
            )  # fmt: skip
            await self._settle(job, "dead", [gone], url="", detail="source event gone")
            return []
        return [job]

    async def _enqueue(self, job: Job) -> None:
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

    async def _partner_worker(self, queue: asyncio.Queue[Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._deliver(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # never lose the worker: the job stays unsettled, redelivered later
                log.exception("webhooks: delivery failed unexpectedly %s", job_name(job))
                self._inflight.discard(job.webhook_id)
            finally:
                queue.task_done()

    # --- delivering -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _deliver(self, job: Job) -> None:
        envelope = job.envelope
        assert envelope is not None
        body = payload(job.event, envelope.event, envelope.time)
        attempts: list[DeliveryAttempt] = []
        url = ""
        max_attempts = self.settings.webhook_max_attempts
        for n in range(1, max_attempts + 1):
            sub = self.views.subscription(job.partner_id)
            if sub is None or job.event not in sub.events:
                if not attempts and job.redrive is None:  # unsubscribed first: nothing to record
                    self._inflight.discard(job.webhook_id)
                    self._release(job)
                    return
                if not attempts:  # a redrive is answered: its record says why it was not sent
                    attempts.append(
                        DeliveryAttempt(
                            at=self._now(), error="not attempted: no subscription", duration_ms=0
                        )
                    )
                await self._settle(job, "dead", attempts, url, "subscription removed")
                return
            url = sub.url
            headers = signed_headers([sub.secret], job.webhook_id, int(self._clock()), body)
            headers.update(cloudevent_headers(envelope))
            at = self._now()
            async with self._slots:
                result = await self._sender.post(
                    url, body, headers, timeout_s=self.settings.webhook_timeout_s
                )
            attempts.append(attempt_of(at, result))
            outcome = "final" if result.unsafe else verdict(result.status)
            if outcome == "delivered":
                if self._metrics:
                    self._metrics.webhook_delivered()
                await self._settle(job, "delivered", attempts, url)
                return
            if self._metrics:
                self._metrics.webhook_failed(failure_reason(result))
            log.info(
                "webhooks: attempt %d/%d failed (%s) %s",
                n, max_attempts, result.status or result.error, job_name(job),
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
        job: Job,
        outcome: str,
        attempts: list[DeliveryAttempt],
        url: str,
        detail: str = "",
    ) -> None:
        dead = job.redrive
        record = delivery_record(job, outcome, attempts, url, self._now())
        await self._publish(record, "webhook-deliveries", record.webhook_id)
        if outcome != "delivered" and dead is None:  # a failed redrive was dead-lettered before
            error = InvalidEvent("webhook_exhausted", f"{job.webhook_id}: {detail}"[:2000])
            await self._dead_letter(job.tp, job.record, error)
        self.views.apply(record)
        self._inflight.discard(job.webhook_id)
        self._release(job)

    async def _dead_letter(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes], error: InvalidEvent
    ) -> None:
        letter = dead_letter(
            error,
            source_topic=tp.topic,
            partition=tp.partition,
            offset=record.offset,
            key=record.key,
            value=record.value or b"",
            headers=[(name, bytes(value)) for name, value in record.headers],
            at=self._now(),
            consumer="webhooks",
        )
        if self._metrics:
            self._metrics.dead_lettered(error.reason)
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
