"""The API's pure parts: the read-model views, the key ring, the transition check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.http.errors import ApiError
from connectors.http.keys import KeyRing, hash_key, issue_key, revoked
from connectors.http.routes_referrals import check_transition
from connectors.http.views import Views
from schemas.ids import referral_id
from schemas.operations import ConflictFlagged
from schemas.partner import PartnerProfile
from schemas.referrals import (
    LeadRevealed,
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
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
