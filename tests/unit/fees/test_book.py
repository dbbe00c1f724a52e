"""The fee book: fee events from the referral log, exactly once, approvals on time, verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from schemas.common import Money
from schemas.ids import referral_id
from schemas.referrals import OfferMade, ReferralWon, Teaser
from schemas.terms import Terms
from streams.fees.book import FeeBook

T0 = datetime(2026, 12, 1, tzinfo=UTC)
TERMS = Terms.model_validate({"referral_fee": {"percent": "10"}, "approval_days": 30})


def _offer(partner: str, terms: Terms | None = TERMS) -> OfferMade:
    return OfferMade(
        referral_id=referral_id("north", f"opp-{partner}", partner),
        opportunity_id=f"opp-{partner}",
        originator="north",
        partner_id=partner,
        round=1,
        rank=1,
        score=1.0,
        teaser=Teaser(
            needs=("storage",),
            region="DE",
            industry="retail",
            size_band="250k-1m",
            currency="EUR",
            expected_close=T0.date(),
        ),
        offered_at=T0,
        expires_at=T0 + timedelta(hours=1),
        terms=terms,
    )


def _won(offer: OfferMade, amount: str = "1000.05") -> ReferralWon:
    return ReferralWon(
        referral_id=offer.referral_id,
        opportunity_id=offer.opportunity_id,
        originator=offer.originator,
        partner_id=offer.partner_id,
        amount=Money(amount=Decimal(amount), currency="EUR"),
        won_at=T0 + timedelta(days=1),
    )


def test_a_won_referral_accrues_once_and_is_approved_after_the_window() -> None:
    book = FeeBook()
    offer = _offer("south")
    book.on_referral(offer, "e-offer")
    book.on_referral(_won(offer), "e-won")
    [accrued] = book.due(T0 + timedelta(days=2))
    assert (accrued.kind, accrued.payer, accrued.payee) == ("accrued", "south", "north")
    assert accrued.amount == Decimal("100.00")  # 100.005 half-even
    book.on_referral(_won(offer), "e-won")  # redelivered
    assert book.due(T0 + timedelta(days=3)) == []
    [approved] = book.due(T0 + timedelta(days=31, seconds=1))
    assert approved.kind == "approved" and approved.at == T0 + timedelta(days=31)
    assert book.due(T0 + timedelta(days=40)) == []
    assert book.verify(T0 + timedelta(days=40)) == []


def test_no_terms_no_fee_and_verify_names_the_referrals_that_differ() -> None:
    book = FeeBook()
    free, paid = _offer("free", terms=None), _offer("paid")
    for offer in (free, paid):
        book.on_referral(offer, f"o-{offer.partner_id}")
        book.on_referral(_won(offer), f"w-{offer.partner_id}")
    [accrued] = book.due(T0 + timedelta(days=2))
    assert accrued.referral_id == paid.referral_id
    tampered = FeeBook(referrals=book.referrals)
    tampered.on_fee(accrued.model_copy(update={"amount": Decimal("99.00")}))
    [diff] = tampered.verify(T0 + timedelta(days=2))
    assert diff.referral_id == paid.referral_id and "differs" in diff.detail
    empty = FeeBook(referrals=book.referrals)
    assert [d.referral_id for d in empty.verify(T0)] == [paid.referral_id]


@given(st.lists(st.integers(0, 3), min_size=1, max_size=30))
def test_any_redelivery_order_gives_one_fee_per_won_referral(order: list[int]) -> None:
    offers = [_offer(f"p{i}") for i in range(4)]
    book = FeeBook()
    appended = []
    for offer in offers:
        book.on_referral(offer, f"o{offer.partner_id}")
    for i in order:
        book.on_referral(_won(offers[i]), f"w{i}")
        appended += book.due(T0 + timedelta(days=2))
    accrued = [r for r in appended if r.kind == "accrued"]
    assert sorted(r.referral_id for r in accrued) == sorted({offers[i].referral_id for i in order})
    assert book.verify(T0 + timedelta(days=2)) == []
