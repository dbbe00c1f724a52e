"""Outbound webhooks end to end: the real broker, the dispatcher, a real local aiohttp receiver."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from connectors.webhooks.dispatcher import WebhookDispatcher
from connectors.webhooks.sender import HttpSender
from connectors.webhooks.signing import generate_secret
from connectors.webhooks.ssrf import TargetPolicy
from schemas.common import Contract
from schemas.ids import referral_id
from schemas.operations import DeadLetter
from schemas.referrals import LeadRevealed, OfferMade
from schemas.samples import example
from schemas.webhooks import WebhookDelivery, WebhookSubscription
from streams.metrics import ReferralMetrics
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.integration.polling import wait_for
from tests.integration.webhook_helpers import Receiver, publish, read_until

pytestmark = pytest.mark.kafka

ORIGINATOR = "northwind-networks"


def _webhook_settings(settings: Settings, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_networks": "127.0.0.0/8",
            "webhook_backoff_base_s": 0.05,
            "webhook_backoff_max_s": 0.2,
            "webhook_max_attempts": 3,
            "webhook_timeout_s": 1.0,
            **extra,
        }
    )


def offer(partner: str, opp: str = "opp-1") -> OfferMade:
    base = example("io.oppbus.referral.offered.v1")
    assert isinstance(base, OfferMade)
    return base.model_copy(
        update={
            "partner_id": partner,
            "opportunity_id": opp,
            "originator": ORIGINATOR,
            "referral_id": referral_id(ORIGINATOR, opp, partner),
        }
    )


def revealed(partner: str, opp: str = "opp-1") -> LeadRevealed:
    base = example("io.oppbus.lead.revealed.v1")
    assert isinstance(base, LeadRevealed)
    return base.model_copy(
        update={
            "partner_id": partner,
            "opportunity_id": opp,
            "originator": ORIGINATOR,
            "referral_id": referral_id(ORIGINATOR, opp, partner),
        }
    )


def subscription(partner: str, url: str, secret: str, version: int = 1) -> WebhookSubscription:
    return WebhookSubscription(
        partner_id=partner, url=url, secret=secret, version=version, updated_at=datetime.now(UTC)
    )


async def _end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        topic = settings.topic("referrals")
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


def _deliveries(events: list[Contract]) -> list[WebhookDelivery]:
    return [e for e in events if isinstance(e, WebhookDelivery)]


async def test_each_lead_arrives_exactly_once_signed_after_two_failed_attempts(
    settings: Settings,
) -> None:
    settings = _webhook_settings(settings)
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"flaky": secret})
    await receiver.start()
    registry = CollectorRegistry()
    first = WebhookDispatcher(settings, metrics=ReferralMetrics(registry))
    try:
        await publish(settings, subscription("flaky-storage", f"{receiver.url}/flaky", secret))
        the_offer = offer("flaky-storage")
        # the ledger may carry an event twice (at-least-once router): still one delivery
        await publish(settings, the_offer, the_offer, revealed("flaky-storage"), offer("no-hook"))
        await first.start()
        await receiver.wait_for(lambda hits: sum(h.status < 300 for h in hits) >= 2, 20)
        records = _deliveries(
            await read_until(settings, "webhook-deliveries", lambda ev: len(ev) >= 2)
        )
        await wait_for(lambda: _caught_up(first, settings), 20, what="dispatcher caught up")
    finally:
        await first.stop()

    ok = [h for h in receiver.hits if h.status < 300]
    offered_id = f"{the_offer.referral_id}.offered"
    assert [h.webhook_id for h in ok] == [offered_id, f"{the_offer.referral_id}.revealed"]
    assert all(h.verified for h in receiver.hits)
    assert [h.status for h in receiver.hits if h.webhook_id == offered_id] == [503, 503, 204]
    body = orjson.loads(ok[0].body)
    assert body["type"] == "lead.offered" and "customer" not in body["data"]
    assert orjson.loads(ok[1].body)["data"]["customer"]["company"]
    assert sorted((r.outcome, len(r.attempts)) for r in records) == [("delivered", 3)] * 2
    assert registry.get_sample_value("oppbus_webhook_deliveries_total") == 2
    assert (
        sum(
            registry.get_sample_value("oppbus_webhook_failures_total", {"reason": r}) or 0
            for r in ("http_5xx", "http_4xx", "timeout", "connection", "other")
        )
        == 4
    )

    # A dispatcher that replays the whole ledger (new group: as after losing its offsets) knows
    # from the delivery records what was delivered, and sends nothing again.
    hits_before = len(receiver.hits)
    again = WebhookDispatcher(settings.model_copy(update={"app_id": settings.app_id + "-again"}))
    try:
        await again.start()
        await wait_for(lambda: _caught_up(again, settings), 20, what="dispatcher caught up")
    finally:
        await again.stop()
        await receiver.stop()
    assert len(receiver.hits) == hits_before


async def _caught_up(dispatcher: WebhookDispatcher, settings: Settings) -> bool:
    ends = await _end_offsets(settings)
    committed = dispatcher.offsets.committed_offsets()
    return all(committed.get(tp, 0) >= end for tp, end in ends.items() if end > 0)


async def test_a_permanently_failing_endpoint_ends_in_the_dead_letter(settings: Settings) -> None:
    settings = _webhook_settings(settings)
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"down": secret})
    await receiver.start()
    dispatcher = WebhookDispatcher(settings)
    lead = offer("down-storage")
    try:
        await publish(settings, subscription("down-storage", f"{receiver.url}/down", secret), lead)
        await dispatcher.start()
        letters = await read_until(settings, "deadletter", lambda ev: len(ev) >= 1)
        records = _deliveries(await read_until(settings, "webhook-deliveries", lambda ev: bool(ev)))
    finally:
        await dispatcher.stop()
        await receiver.stop()
    assert [h.status for h in receiver.hits] == [500, 500, 500]
    assert {h.webhook_id for h in receiver.hits} == {f"{lead.referral_id}.offered"}
    (letter,) = letters
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "webhook_exhausted" and letter.consumer == "webhooks"
    assert letter.event_type == "io.oppbus.referral.offered.v1"
    assert letter.source_topic == settings.topic("referrals")
    assert OfferMade.model_validate_json(letter.original_value()) == lead
    (record,) = records
    assert record.outcome == "dead" and [a.status for a in record.attempts] == [500, 500, 500]


async def test_a_hanging_endpoint_stalls_nobody_else_and_ssrf_targets_are_refused(
    settings: Settings,
) -> None:
    settings = _webhook_settings(settings, webhook_timeout_s=5.0)
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"ok": secret, "hang": secret})
    await receiver.start()
    dispatcher = WebhookDispatcher(settings)
    try:
        await publish(
            settings,
            subscription("slow-storage", f"{receiver.url}/hang", secret),
            subscription("fast-storage", f"{receiver.url}/ok", secret),
            subscription("meta-storage", "http://169.254.169.254/latest/meta-data/", secret),
            subscription("lan-storage", "http://10.0.0.7/hook", secret),
        )
        await publish(settings, offer("slow-storage", "o1"), offer("slow-storage", "o2"))
        await publish(settings, offer("meta-storage"), offer("lan-storage"), offer("fast-storage"))
        await dispatcher.start()
        started = time.monotonic()
        await receiver.wait_for(lambda hits: any(h.path == "ok" for h in hits), 10)
        fast_after = time.monotonic() - started
        records = _deliveries(
            await read_until(settings, "webhook-deliveries", lambda ev: len(ev) >= 3)
        )
        hang_answered = any(h.path == "hang" for h in receiver.hits)
    finally:
        await dispatcher.stop()
        await receiver.stop()
    assert fast_after < 3.0  # the hanging partner waits up to 5 s per attempt; fast did not
    assert not hang_answered  # the slow partner's first request was still hanging
    by_partner = {r.partner_id: r for r in records}
    assert by_partner["fast-storage"].outcome == "delivered"
    for partner in ("meta-storage", "lan-storage"):
        refused = by_partner[partner]
        assert refused.outcome == "dead" and len(refused.attempts) == 1  # never retried
        assert "refused" in (refused.attempts[0].error or "")
    assert "slow-storage" not in by_partner


async def test_the_worker_runs_the_dispatcher(settings: Settings) -> None:
    """``oppbus worker`` (and so ``oppbus up``) delivers webhooks: the wiring starts the service."""
    from ops.worker import build_worker_app

    settings = _webhook_settings(settings)
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"ok": secret})
    await receiver.start()
    app = build_worker_app(settings, web=False)
    lead = offer("worker-storage")
    try:
        await publish(settings, subscription("worker-storage", f"{receiver.url}/ok", secret), lead)
        await app.start()
        await receiver.wait_for(lambda hits: len(hits) >= 1, 30)
    finally:
        await app.stop()
        await receiver.stop()
    assert [(h.webhook_id, h.verified) for h in receiver.hits] == [
        (f"{lead.referral_id}.offered", True)
    ]


class _CrashAfterPost:
    """A sender that POSTs for real, then never returns: the process "dies" between the
    receiver's 2xx and the delivery record."""

    def __init__(self) -> None:
        self.inner = HttpSender(TargetPolicy.parse("127.0.0.0/8"))
        self.posted = asyncio.Event()

    async def post(self, url, body, headers, *, timeout_s):  # type: ignore[no-untyped-def]
        await self.inner.post(url, body, headers, timeout_s=timeout_s)
        self.posted.set()
        await asyncio.Event().wait()

    async def close(self) -> None:
        await self.inner.close()


async def test_a_redelivery_after_a_crash_carries_the_same_webhook_id(settings: Settings) -> None:
    settings = _webhook_settings(settings)
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"ok": secret})
    await receiver.start()
    crashing = _CrashAfterPost()
    first = WebhookDispatcher(settings, sender=crashing)
    lead = offer("crash-storage")
    try:
        await publish(settings, subscription("crash-storage", f"{receiver.url}/ok", secret), lead)
        await first.start()
        async with asyncio.timeout(20):
            await crashing.posted.wait()
        await first.stop()  # nothing recorded, offset not committed
        second = WebhookDispatcher(settings)
        await second.start()
        try:
            await receiver.wait_for(lambda hits: len(hits) >= 2, 20)
            records = _deliveries(
                await read_until(settings, "webhook-deliveries", lambda ev: bool(ev))
            )
        finally:
            await second.stop()
    finally:
        await receiver.stop()
    wid = f"{lead.referral_id}.offered"
    assert [(h.webhook_id, h.status, h.verified) for h in receiver.hits] == [(wid, 200, True)] * 2
    assert receiver.hits[0].body == receiver.hits[1].body  # same message: the receiver dedupes
    assert [(r.webhook_id, r.outcome) for r in records] == [(wid, "delivered")]
