"""The API's pure parts: the read-model views, the key ring, the transition check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.http.errors import ApiError
from connectors.http.keys import KeyRing, hash_key, issue_key, revoked
from connectors.http.routes_referrals import check_transition
from connectors.http.views import Views
from schemas.ids import referral_id
from schemas.lifecycle import OpportunityExhausted
from schemas.operations import ConflictFlagged
from schemas.opportunity import OpportunityWithdrawn
from schemas.partner import PartnerProfile
from schemas.referrals import (
    LeadRevealed,
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralWithdrawn,
    ReferralWon,
    Teaser,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CUSTOMER = {"company": "Acme", "domain": "acme.example", "contacts": [{"name": "Dana"}]}


def _offer(partner: str = "contoso", ttl: float = 3600) -> OfferMade:
    return OfferMade(
        referral_id=referral_id("northwind", "o-1", partner),
        opportunity_id="o-1",
        originator="northwind",
        partner_id=partner,
        round=1,
        rank=1,
        score=10.0,
        teaser=Teaser(
            needs=("storage",),
            region="US",
            industry="retail",
            size_band="under-10k",
            currency="USD",
            expected_close=NOW.date(),
        ),
        offered_at=NOW,
        expires_at=NOW + timedelta(seconds=ttl),
    )


def _about(offer: OfferMade) -> dict[str, str]:
    return {
        k: getattr(offer, k) for k in ("referral_id", "opportunity_id", "originator", "partner_id")
    }


def test_ledger_applies_in_order_and_ignores_replays_and_illegal_steps() -> None:
    views = Views()
    offer = _offer()
    assert views.apply(offer, topic="referrals")
    assert not views.apply(offer, topic="referrals")  # replayed offer
    revealed = LeadRevealed(
        **_about(offer), customer=CUSTOMER, deal_size={"amount": "1.00", "currency": "USD"},
        revealed_at=NOW,
    )  # fmt: skip
    views.apply(revealed, topic="referrals")  # revealed before accepted: kept, not shown yet
    lead = views.referral_of("contoso", offer.referral_id)
    assert lead is not None and "customer" not in lead.as_lead()
    assert views.apply(ReferralAccepted(**_about(offer), accepted_at=NOW), topic="referrals")
    assert lead.as_lead()["customer"]["company"] == "Acme"
    # declining after acceptance is not a legal step: nothing changes
    assert not views.apply(
        ReferralDeclined(**_about(offer), reason="timing", declined_at=NOW), topic="referrals"
    )
    won = ReferralWon(**_about(offer), amount={"amount": "5.00", "currency": "USD"}, won_at=NOW)
    assert views.apply(won, topic="referrals")
    assert not views.apply(won, topic="referrals")
    assert lead.status == "won" and lead.as_lead()["customer"]
    assert views.referral_of("fabrikam", offer.referral_id) is None  # never someone else's
    assert [r.as_offer()["status"] for r in views.leads_of("contoso")] == ["won"]
    assert "customer" not in lead.as_offer()


def test_profiles_last_writer_wins_by_version_and_conflict_notices() -> None:
    views = Views()

    def profile(version: int, name: str) -> PartnerProfile:
        return PartnerProfile(
            partner_id="contoso", name=name, kind="reseller", capabilities=("storage",),
            regions=("US",), version=version, updated_at=NOW,
        )  # fmt: skip

    views.apply(profile(2, "new"), topic="partners")
    views.apply(profile(1, "stale"), topic="partners")
    assert views.profiles["contoso"].name == "new"
    flag = ConflictFlagged(
        opportunity_id="o-1", originator="northwind", domain="acme.example", needs=("storage",),
        first_registered_at=NOW, flagged_at=NOW,
    )  # fmt: skip
    views.apply(flag, topic="referrals")
    views.apply(flag, topic="referrals")
    state = views.opportunity_of("northwind", "o-1")
    assert state is not None and [n["type"] for n in state.notices] == ["conflict_flagged"]


def test_key_ring_rotation_revocation_and_stale_records() -> None:
    ring = KeyRing()
    first = issue_key("contoso", previous_version=0, now=NOW)
    ring.apply(first.credential)
    assert ring.verify(first.key) == "contoso"
    assert ring.verify(first.key + "x") is None and ring.verify("not-a-key") is None
    second = issue_key("contoso", previous_version=1, now=NOW)
    ring.apply(second.credential)
    assert ring.verify(first.key) is None and ring.verify(second.key) == "contoso"
    assert not ring.apply(first.credential)  # an old record never brings an old key back
    ring.apply(revoked(second.credential, now=NOW))
    assert ring.verify(second.key) is None
    assert first.key not in first.credential.model_dump_json()
    assert first.credential.key_hash == hash_key(first.key)


def test_transition_check() -> None:
    views = Views()
    offer = _offer(ttl=60)
    views.apply(offer, topic="referrals")
    ref = views.referrals[offer.referral_id]
    assert check_transition(ref, "accept", now=NOW) is True
    with pytest.raises(ApiError) as err:
        check_transition(ref, "won", now=NOW)
    assert err.value.status == 409 and err.value.code == "illegal_transition"
    with pytest.raises(ApiError):
        check_transition(ref, "accept", now=NOW + timedelta(seconds=61))  # expired by the clock
    views.apply(ReferralAccepted(**_about(offer), accepted_at=NOW), topic="referrals")
    assert check_transition(ref, "accept", now=NOW) is False  # a repeat: no-op
    with pytest.raises(ApiError):
        check_transition(ref, "decline", now=NOW)
    assert check_transition(ref, "lost", now=NOW) is True


def test_the_lead_and_offer_views_carry_the_policy_version_of_the_offer() -> None:
    views = Views()
    views.apply(_offer().model_copy(update={"policy_version": 3}), topic="referrals")
    old = _offer("fabrikam")  # made before policies were versioned
    views.apply(old, topic="referrals")
    (lead,) = views.leads_of("contoso")
    assert lead.as_lead()["policy_version"] == lead.as_offer()["policy_version"] == 3
    (old_lead,) = views.leads_of("fabrikam")
    assert old_lead.as_lead()["policy_version"] is None


def _won(offer: OfferMade, at: datetime) -> ReferralWon:
    return ReferralWon(**_about(offer), amount={"amount": "5.00", "currency": "USD"}, won_at=at)


def test_a_closed_opportunity_is_forgotten_after_the_retention_and_an_open_one_never() -> None:
    """The API's memory holds what is open plus the retention's worth of history: a won
    opportunity goes (with its referrals, from every partner's leads) ``closed_retention_s``
    after it closed; one still offered, accepted or merely declined stays however old."""
    views = Views(closed_retention_s=60)
    won, offered = _offer("contoso"), _offer("fabrikam").model_copy(update={"opportunity_id": "o-2",
        "referral_id": referral_id("northwind", "o-2", "fabrikam")})  # fmt: skip
    declined = _offer("tailspin").model_copy(update={"opportunity_id": "o-3",
        "referral_id": referral_id("northwind", "o-3", "tailspin")})  # fmt: skip
    for offer in (won, offered, declined):
        views.apply(offer, topic="referrals", at=NOW)
    views.apply(ReferralAccepted(**_about(won), accepted_at=NOW), topic="referrals", at=NOW)
    views.apply(_won(won, NOW), topic="referrals", at=NOW + timedelta(seconds=10))
    views.apply(
        ReferralDeclined(**_about(declined), reason="timing", declined_at=NOW),
        topic="referrals",
        at=NOW,
    )  # declined: the router may offer it again (waiting, next round): not closed
    assert views.expire(NOW + timedelta(seconds=69)) == 0  # 59 s after it closed
    assert views.referral_of("contoso", won.referral_id) is not None
    assert views.expire(NOW + timedelta(seconds=70)) == 1
    assert views.referral_of("contoso", won.referral_id) is None
    assert views.opportunity_of("northwind", "o-1") is None
    assert "contoso" not in views.by_partner and won.referral_id not in views.referrals
    assert views.expire(NOW + timedelta(days=400)) == 0  # the open and the declined stay
    assert {r.referral_id for r in views.leads_of("fabrikam")} == {offered.referral_id}
    assert views.opportunity_of("northwind", "o-3") is not None
    assert Views().expire(NOW + timedelta(days=400)) == 0  # no retention: nothing goes


def test_an_opportunity_is_closed_only_when_nothing_of_it_is_open() -> None:
    """Won by one partner while another still holds an offer (two at once): it waits for the
    other; a withdrawal closes it once its withdrawals are recorded; a reroute reopens."""
    views = Views(closed_retention_s=60)
    first, second = _offer("contoso"), _offer("fabrikam")
    for offer in (first, second):
        views.apply(offer, topic="referrals", at=NOW)
    views.apply(ReferralAccepted(**_about(first), accepted_at=NOW), topic="referrals", at=NOW)
    views.apply(_won(first, NOW), topic="referrals", at=NOW)
    assert views.expire(NOW + timedelta(hours=1)) == 0  # fabrikam's offer is still open
    views.apply(ReferralExpired(**_about(second), expired_at=NOW + timedelta(minutes=61)),
                topic="referrals", at=NOW + timedelta(minutes=61))  # fmt: skip
    # closed by the won outcome (its time), now that nothing is open
    assert views.expire(NOW + timedelta(minutes=62)) == 1
    # withdrawn: the worker withdraws the open offers; closed once they are recorded
    views.apply(_offer("tailspin"), topic="referrals", at=NOW)
    withdrawn = OpportunityWithdrawn(opportunity_id="o-1", originator="northwind", withdrawn_at=NOW)
    views.apply(withdrawn, topic="opportunities", at=NOW)
    assert views.expire(NOW + timedelta(hours=2)) == 0
    tailspin = _offer("tailspin")
    views.apply(ReferralWithdrawn(**_about(tailspin), reason="withdrawn", withdrawn_at=NOW),
                topic="referrals", at=NOW)  # fmt: skip
    assert views.expire(NOW + timedelta(hours=2)) == 1


def test_exhausted_closes_and_a_reroute_reopens() -> None:
    views = Views(closed_retention_s=60)
    offer = _offer("contoso")
    views.apply(offer, topic="referrals", at=NOW)
    views.apply(ReferralDeclined(**_about(offer), reason="timing", declined_at=NOW),
                topic="referrals", at=NOW)  # fmt: skip
    exhausted = OpportunityExhausted(opportunity_id="o-1", originator="northwind", offered=1,
                                     declined=1, expired=0, at=NOW)  # fmt: skip
    views.apply(exhausted, topic="referrals", at=NOW)
    views.apply(_offer("fabrikam"), topic="referrals", at=NOW)  # rerouted: a new offer
    assert views.expire(NOW + timedelta(hours=1)) == 0
    assert [r.status for r in views.leads_of("fabrikam")] == ["offered"]
