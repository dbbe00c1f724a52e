"""The example events of schemas/examples: the storage opportunity story."""

from __future__ import annotations

import orjson

from schemas.codec import decode
from schemas.events import EVENT_TYPES, Opportunity, PartnerProfile, event_key
from schemas.referrals import OfferMade, teaser_of
from schemas.samples import examples


def test_the_storage_opportunity_of_a_networking_reseller_validates() -> None:
    ex = examples()["io.oppbus.opportunity.published.v1"]
    opp = ex.event
    assert isinstance(opp, Opportunity)
    assert "storage" in opp.needs and opp.retains is not None and "networking" in opp.retains
    assert opp.originator.endswith("networks") and opp.deal_size.currency == "USD"
    enc = ex.encoded()
    env = decode(enc.value, enc.headers)
    assert env.event == opp and env.id == ex.id and env.time == ex.time
    assert event_key(opp) == b"northwind-networks/nw-2026-0042"


def test_the_storage_specialist_fits_and_the_offer_teases_without_the_customer() -> None:
    all_examples = examples()
    opp = all_examples["io.oppbus.opportunity.published.v1"].event
    partner = all_examples["io.oppbus.partner.updated.v1"].event
    offer = all_examples["io.oppbus.referral.offered.v1"].event
    assert isinstance(opp, Opportunity) and isinstance(partner, PartnerProfile)
    assert isinstance(offer, OfferMade)
    assert set(opp.needs) <= set(partner.capabilities)
    assert not set(opp.retains or ()) & set(partner.capabilities)
    assert offer.teaser == teaser_of(opp) and offer.partner_id == partner.partner_id
    body = orjson.dumps(offer.model_dump(mode="json")).lower()
    for secret in (b"fabrikam", b"dana", b"555", b"@"):
        assert secret not in body


def test_every_example_is_a_registered_type() -> None:
    assert set(examples()) == set(EVENT_TYPES)
