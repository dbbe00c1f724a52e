"""Pure parts of webhook delivery: event selection, payload, retry verdicts, backoff, offsets."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import TopicPartition

from connectors.webhooks.policy import (
    OffsetTracker,
    backoff_s,
    lead_event_of,
    lead_partner,
    payload,
    verdict,
)
from connectors.webhooks.views import WebhookViews
from schemas.codec import encode
from schemas.samples import example
from schemas.webhooks import WebhookDelivery, WebhookSubscription, webhook_id


def test_only_a_partners_own_ledger_events_become_lead_events() -> None:
    assert lead_event_of(example("io.oppbus.referral.offered.v1")) == "lead.offered"
    assert lead_event_of(example("io.oppbus.lead.revealed.v1")) == "lead.revealed"
    assert lead_event_of(example("io.oppbus.referral.won.v1")) == "lead.won"
    assert lead_event_of(example("io.oppbus.opportunity.published.v1")) is None
    assert lead_event_of(example("io.oppbus.opportunity.conflict-flagged.v1")) is None
    assert lead_event_of(example("io.oppbus.referral.accept.v1")) is None  # a command, not a fact


def test_lead_partner_is_read_without_validating_and_defers_anything_unclear() -> None:
    offer = example("io.oppbus.referral.offered.v1")
    enc = encode(offer, source="test")
    assert lead_partner(enc.value, enc.headers) == offer.partner_id  # type: ignore[attr-defined]
    flagged = encode(example("io.oppbus.opportunity.conflict-flagged.v1"), source="test")
    assert lead_partner(flagged.value, flagged.headers) is None  # never a lead event
    # anything it cannot tell is left to the full decode (which reports the bad record)
    assert lead_partner(b"not json", enc.headers) == ""
    assert lead_partner(b"[]", enc.headers) == ""
    assert lead_partner(enc.value, []) == ""
    assert lead_partner(enc.value, [("ce_type", b"io.oppbus.nope.v1")]) == ""
    assert lead_partner(None, enc.headers) == ""


def test_offer_payload_carries_the_teaser_and_no_customer() -> None:
    offer = example("io.oppbus.referral.offered.v1")
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    body = orjson.loads(payload("lead.offered", offer, at))
    assert body["type"] == "lead.offered" and body["timestamp"] == "2026-11-24T09:00:00Z"
    assert "teaser" in body["data"] and "customer" not in body["data"]
    assert payload("lead.offered", offer, at) == payload("lead.offered", offer, at)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"), (204, "delivered"), (None, "retry"), (500, "retry"), (503, "retry"),
        (429, "retry"), (408, "retry"), (301, "final"), (302, "final"), (400, "final"),
        (401, "final"), (404, "final"), (410, "final"),
    ],
)  # fmt: skip
def test_verdicts(status: int | None, expected: str) -> None:
    assert verdict(status) == expected


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_s(n, base_s=1.0, cap_s=30.0, rng=rng) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        full = min(30.0, 2.0 ** (n - 1))
        assert full / 2 <= d <= full
    assert delays[-1] <= 30.0
    spread = {round(backoff_s(3, base_s=1.0, cap_s=30.0, rng=rng), 6) for _ in range(20)}
    assert len(spread) > 1  # jitter: retries do not synchronise


def test_offsets_commit_only_below_the_lowest_unsettled_record() -> None:
    tp = TopicPartition("t", 0)
    tracker = OffsetTracker()
    for offset in range(5):
        tracker.seen(tp, offset)
    tracker.settle(tp, 0)
    tracker.settle(tp, 2)  # out of order: 1 is still in a slow partner's queue
    assert tracker.to_commit() == {tp: 1}
    tracker.committed({tp: 1})
    assert tracker.to_commit() == {}
    for offset in (1, 3, 4):
        tracker.settle(tp, offset)
    assert tracker.to_commit() == {tp: 5}
    tracker.forget({tp})
    assert tracker.to_commit() == {} and tracker.pending() == 0


def test_views_keep_the_latest_subscription_and_the_log() -> None:
    sub = example("io.oppbus.webhook.subscribed.v1")
    assert isinstance(sub, WebhookSubscription)
    views = WebhookViews()
    assert views.apply(sub)
    assert not views.apply(sub.model_copy(update={"version": 0, "url": "https://old.example/"}))
    assert views.subscription(sub.partner_id) == sub
    views.apply(sub.model_copy(update={"version": 2, "active": False}))
    assert views.subscription(sub.partner_id) is None
    delivery = example("io.oppbus.webhook.settled.v1")
    assert isinstance(delivery, WebhookDelivery)
    assert views.apply(delivery) and not views.apply(delivery)
    assert views.is_settled(webhook_id(delivery.referral_id, "lead.offered"))
    assert views.log_for(delivery.partner_id, delivery.referral_id) == [delivery]
    assert views.log_for("someone-else", delivery.referral_id) == []


def test_an_assembled_team_is_a_lead_event_for_each_member_only() -> None:
    news = example("io.oppbus.lead.assembled.v1")
    assert lead_event_of(news) == "lead.assembled"
    enc = encode(news, source="test")
    assert lead_partner(enc.value, enc.headers) == news.partner_id  # type: ignore[attr-defined]
    # the originator's team events are no member's webhook
    for ce_type in ("team.planned.v1", "team.assembled.v1", "team.incomplete.v1"):
        event = example("io.oppbus." + ce_type)
        assert lead_event_of(event) is None
        other = encode(event, source="test")
        assert lead_partner(other.value, other.headers) is None
    body = orjson.loads(payload("lead.assembled", news, datetime(2026, 11, 25, tzinfo=UTC)))
    assert body["type"] == "lead.assembled"
    assert [m["partner_id"] for m in body["data"]["members"]] == ["fabrikam-sec"]
    assert "customer" not in body["data"]
    assert webhook_id(news.referral_id, "lead.assembled").endswith(".assembled")  # type: ignore[attr-defined]
