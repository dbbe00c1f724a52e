"""The pure rules of redrives and fee webhooks: what may be redriven, what supersedes what, who
hears about a fee, which webhook ids are valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from connectors.webhooks.policy import fee_targets, lead_event_of
from connectors.webhooks.redrive import pending, refusal
from connectors.webhooks.views import WebhookViews
from schemas.fees import FeeRecorded
from schemas.samples import example
from schemas.webhooks import (
    DeliveryAttempt,
    RecordPosition,
    WebhookDelivery,
    WebhookRedrive,
    fee_webhook_id,
)

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
WID = "ref_03aeae9dcb6e876e0665.offered"


def _delivery(outcome: str = "dead", redrive: int = 0, **over: object) -> WebhookDelivery:
    fields: dict[str, object] = {
        "webhook_id": WID,
        "partner_id": "contoso-storage",
        "referral_id": "ref_03aeae9dcb6e876e0665",
        "opportunity_id": "nw-1",
        "originator": "northwind",
        "event": "lead.offered",
        "outcome": outcome,
        "url": "https://hooks.example/x",
        "attempts": (DeliveryAttempt(at=T0, status=500, duration_ms=3),),
        "settled_at": T0 + timedelta(minutes=redrive),
        "source": RecordPosition(topic="referrals", partition=1, offset=7),
        "redrive": redrive,
        **over,
    }
    return WebhookDelivery.model_validate(fields)


def _asked(n: int) -> WebhookRedrive:
    return WebhookRedrive(webhook_id=WID, partner_id="contoso-storage", redrive=n, requested_at=T0)


def test_only_the_next_redrive_of_a_dead_delivery_is_carried_out() -> None:
    dead = _delivery()
    assert refusal(dead) is None and refusal(dead, _asked(1)) is None
    assert refusal(None) == "unknown_delivery"
    assert refusal(_delivery("delivered")) == "delivered"
    assert refusal(_delivery(source=None)) == "no_source"
    assert refusal(_delivery(redrive=1), _asked(1)) == "already_redriven"  # a crash's re-read
    assert refusal(dead, _asked(3)) == "out_of_order"
    assert pending(dead, _asked(1)) and not pending(_delivery(redrive=1), _asked(1))
    assert not pending(dead, None)


def test_a_redrives_record_supersedes_the_dead_one_and_keeps_its_place() -> None:
    views = WebhookViews()
    dead = _delivery()
    done = _delivery("delivered", redrive=1, first_settled_at=dead.settled_at)
    assert views.apply(dead) and not views.apply(dead)  # a repeated record changes nothing
    assert views.apply(done)
    assert not views.apply(dead)  # an older record, re-read later, does not win back
    assert views.settled[WID] == done and views.log_for("contoso-storage") == [done]
    assert done.first_settled == dead.settled_at
    assert (
        views.apply(_asked(1)) and not views.apply(_asked(1)) and views.redrives[WID].redrive == 1
    )


def test_a_fee_event_is_for_its_payer_and_its_payee_only() -> None:
    sample = example("io.oppbus.fee.recorded.v1")
    assert isinstance(sample, FeeRecorded)
    fee = sample.model_copy(update={"kind": "accrued", "event_id": f"{sample.fee_id}.accrued"})
    targets = fee_targets(fee)
    assert targets == [
        (fee.payer, "fee.accrued", f"{fee.event_id}.payer"),
        (fee.payee, "fee.accrued", f"{fee.event_id}.payee"),
    ]
    assert fee_targets(_delivery()) == []  # anything else: nobody
    assert lead_event_of(fee) is None  # and a fee is no lead event
    settled = fee.model_copy(update={"kind": "settled", "event_id": f"{fee.fee_id}.settled"})
    assert {kind for _, kind, _ in fee_targets(settled)} == {"fee.settled"}
    assert fee_webhook_id(fee.event_id, "payee") == targets[1][2]
    assert Decimal(str(fee.amount)) > 0


@pytest.mark.parametrize(
    "wid",
    [
        "ref_03aeae9dcb6e876e0665.offered",
        "fee_00112233445566778899.accrued.payer",
        "fee_00112233445566778899.reversed.payee",
    ],
)
def test_webhook_ids_of_leads_and_fees_are_accepted(wid: str) -> None:
    assert _asked(1).model_copy(update={"webhook_id": wid}).webhook_id == wid
    WebhookRedrive(webhook_id=wid, partner_id="p-1", redrive=1, requested_at=T0)


@pytest.mark.parametrize(
    "wid",
    [
        "ref_03aeae9dcb6e876e0665.fee.accrued",
        "fee_00112233445566778899.accrued",
        "fee_00112233445566778899.accrued.someone",
        "../../admin",
        "ref_03aeae9dcb6e876e0665.off\nered",
        "x" * 3000,
    ],
)
def test_other_webhook_ids_are_refused(wid: str) -> None:
    with pytest.raises(ValidationError):
        WebhookRedrive(webhook_id=wid, partner_id="p-1", redrive=1, requested_at=T0)
    with pytest.raises(ValidationError):
        _delivery(webhook_id=wid)


def test_a_redrive_number_starts_at_one() -> None:
    with pytest.raises(ValidationError):
        _asked(0)


def _settled(n: int, at: datetime, redrive: int = 0) -> WebhookDelivery:
    rid = f"ref_{n:020x}"
    return _delivery(
        "delivered" if redrive else "dead",
        redrive=redrive,
        webhook_id=f"{rid}.offered",
        referral_id=rid,
        settled_at=at,
    )


def test_the_delivery_log_forgets_what_settled_a_retention_before_the_latest() -> None:
    """Bounded by event time: the API and the dispatcher keep the deliveries settled within the
    retention of the latest one (a redriven one from its last settling), not every delivery."""
    views = WebhookViews(retention_s=3600)
    for n in range(3):  # settled at T0, +20 min, +40 min
        assert views.apply(_settled(n, T0 + timedelta(minutes=20 * n)))
    assert views.apply(_asked_for(0))
    assert views.apply(_settled(0, T0 + timedelta(minutes=50), redrive=1))  # redriven at +50
    assert views.apply(_settled(3, T0 + timedelta(minutes=90)))  # +90: +20 is past the hour
    assert views.forgotten == 1 and not views.is_settled(_settled(1, T0).webhook_id)
    assert views.log_for("contoso-storage", _settled(1, T0).referral_id) == []
    assert views.is_settled(_settled(0, T0).webhook_id)  # its last settling was at +50
    assert _settled(0, T0).webhook_id in views.redrives
    assert views.apply(_settled(4, T0 + timedelta(minutes=111)))  # +50 is past it now
    assert views.forgotten == 3 and sorted(views.settled) == [
        _settled(n, T0).webhook_id for n in (3, 4)
    ]
    assert not views.redrives and set(views.by_referral) == {
        _settled(n, T0).referral_id for n in (3, 4)
    }
    keep_all = WebhookViews()  # no retention: every delivery stays
    for n in range(3):
        keep_all.apply(_settled(n, T0 + timedelta(days=400 * n)))
    assert len(keep_all.settled) == 3 and keep_all.expire(T0 + timedelta(days=9999)) == 0


def _asked_for(n: int) -> WebhookRedrive:
    return WebhookRedrive(
        webhook_id=_settled(n, T0).webhook_id, partner_id="contoso-storage", redrive=1,
        requested_at=T0,
    )  # fmt: skip
