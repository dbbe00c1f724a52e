"""Microsoft Partner Center referral <-> oppbus mapping, on checked-in sample documents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

import connectors.interop
from connectors.interop.common import REFERRAL_STATUSES, MappingError
from connectors.interop.microsoft import (
    WITHDRAWN_REASON,
    ms_status,
    opportunity_from_referral,
    referral_from_lead,
    referral_from_opportunity,
    status_from_ms,
    status_from_referral,
)
from schemas.opportunity import Opportunity
from schemas.referrals import LeadRevealed, OfferMade
from schemas.samples import example

SAMPLES = Path(connectors.interop.__file__).parent / "samples"


def sample(name: str) -> dict:
    return orjson.loads((SAMPLES / name).read_bytes())


def test_incoming_sample_maps_to_an_opportunity() -> None:
    opp = opportunity_from_referral(sample("microsoft_referral_incoming.json"))
    assert opp.opportunity_id == "CRM-OPP-000123"
    assert opp.needs == ("storage", "backup")
    assert opp.region == "US-CA"
    assert opp.industry == "retail"  # the vocabulary's code (schemas/industries.py)
    assert opp.deal_size.amount == Decimal("185000.50")
    assert opp.deal_size.currency == "USD"
    assert opp.expected_close == date(2027, 3, 31)
    assert opp.customer.company == "Contoso Retail Ltd"
    assert opp.customer.domain == "contoso-retail.com"
    assert [c.email for c in opp.customer.contacts] == ["ada.lovelace@contoso-retail.com"]
    assert opp.respond_within_s == 48 * 3600
    assert opp.title == "Contoso Retail - storage refresh and backup"


def test_statuses_of_the_samples() -> None:
    assert status_from_referral(sample("microsoft_referral_incoming.json")) == "offered"
    assert status_from_referral(sample("microsoft_referral_closed_won.json")) == "won"


def test_no_consent_to_contact_drops_the_contacts_but_keeps_the_domain() -> None:
    opp = opportunity_from_referral(sample("microsoft_referral_closed_won.json"))
    assert opp.customer.contacts == ()
    assert opp.customer.domain == "fabrikam.de"
    assert opp.region == "DE-BY"
    assert opp.needs == ("networking",)  # "secure" is no keyword: no guessing


@pytest.mark.parametrize("status", REFERRAL_STATUSES)
def test_every_status_maps_both_ways(status: str) -> None:
    ms, sub = ms_status(status, "incoming")  # type: ignore[arg-type]
    reason = WITHDRAWN_REASON if status == "withdrawn" else None
    assert status_from_ms(ms, sub, reason) == status


def test_status_table_matches_partner_center() -> None:
    assert ms_status("offered", "incoming") == ("New", "Received")
    assert ms_status("offered", "outgoing") == ("New", "Pending")
    assert ms_status("accepted") == ("Active", "Accepted")
    assert ms_status("declined") == ("Closed", "Declined")
    assert ms_status("expired") == ("Closed", "Expired")
    assert ms_status("won") == ("Closed", "Won")
    assert ms_status("lost") == ("Closed", "Lost")
    assert status_from_ms("active", "ENGAGED") == "accepted"
    assert status_from_ms("Closed", "Lost", "price") == "lost"


@pytest.mark.parametrize(("status", "sub"), [("New", "Won"), ("Closed", "Pending"), ("Bogus", "")])
def test_impossible_status_pairs_are_refused(status: str, sub: str) -> None:
    with pytest.raises(MappingError) as info:
        status_from_ms(status, sub)
    assert info.value.errors[0].field == "substatus"


def test_referral_without_consent_to_share_is_refused() -> None:
    doc = sample("microsoft_referral_incoming.json")
    doc["consent"]["consentToShareInfo"] = False
    with pytest.raises(MappingError) as info:
        opportunity_from_referral(doc)
    assert [e.field for e in info.value.errors] == ["consent.consentToShareInfo"]


def test_bad_fields_are_named_with_their_vendor_path() -> None:
    doc = sample("microsoft_referral_incoming.json")
    doc["details"]["dealValue"] = "lots"
    with pytest.raises(MappingError) as info:
        opportunity_from_referral(doc)
    assert info.value.errors[0].field == "details.dealValue"
    doc = sample("microsoft_referral_incoming.json")
    doc["details"]["currency"] = "dollars"
    with pytest.raises(MappingError) as info:
        opportunity_from_referral(doc)
    assert info.value.errors[0].field == "details.dealValue (deal_size.currency)"


def test_unknown_needs_and_missing_country_are_refused() -> None:
    doc = sample("microsoft_referral_incoming.json")
    doc["details"]["requirements"]["solutions"] = [{"name": "Something else"}]
    doc["details"]["requirements"]["services"] = []
    with pytest.raises(MappingError, match=r"details\.requirements"):
        opportunity_from_referral(doc)
    doc = sample("microsoft_referral_incoming.json")
    del doc["customerProfile"]["address"]["country"]
    with pytest.raises(MappingError, match="country"):
        opportunity_from_referral(doc)


def _published(doc_name: str) -> Opportunity:
    opp = opportunity_from_referral(sample(doc_name))
    return Opportunity.model_validate(
        {
            **opp.model_dump(),
            "originator": "net-reseller",
            "published_at": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        }
    )


def test_opportunity_round_trips_through_a_referral_document() -> None:
    original = _published("microsoft_referral_incoming.json")
    doc = orjson.loads(orjson.dumps(referral_from_opportunity(original, status="accepted")))
    assert (doc["status"], doc["substatus"]) == ("Active", "Accepted")
    back = opportunity_from_referral(doc)
    for field in ("opportunity_id", "needs", "region", "industry", "deal_size", "expected_close"):
        assert getattr(back, field) == getattr(original, field), field
    assert back.customer == original.customer
    assert status_from_referral(doc) == "accepted"


def test_withdrawn_round_trips_through_its_status_reason() -> None:
    original = _published("microsoft_referral_incoming.json")
    doc = referral_from_opportunity(original, status="withdrawn")
    assert (doc["status"], doc["substatus"]) == ("Closed", "Lost")
    assert status_from_referral(doc) == "withdrawn"


def test_teaser_export_carries_no_customer_identity() -> None:
    original = _published("microsoft_referral_incoming.json")
    doc = referral_from_opportunity(original, direction="incoming", include_customer=False)
    text = orjson.dumps(doc).decode()
    assert "Contoso" not in text
    assert "ada.lovelace" not in text
    assert doc["customerProfile"] == {"address": {"country": "US", "state": "CA"}}
    assert (doc["status"], doc["substatus"]) == ("New", "Received")


def test_a_lead_is_a_teaser_referral_until_accepted_then_carries_the_customer() -> None:
    offer = example("io.oppbus.referral.offered.v1")
    revealed = example("io.oppbus.lead.revealed.v1")
    assert isinstance(offer, OfferMade) and isinstance(revealed, LeadRevealed)
    teaser = referral_from_lead(offer)
    text = orjson.dumps(teaser).decode()
    assert revealed.customer.company not in text and "dealValue" not in text
    assert (teaser["status"], teaser["substatus"]) == ("New", "Received")
    assert teaser["id"] == offer.referral_id and teaser["consent"]["consentToShareInfo"] is False
    accepted = referral_from_lead(
        offer, status="accepted", customer=revealed.customer, deal_size=revealed.deal_size
    )
    assert status_from_referral(accepted) == "accepted"
    assert accepted["customerProfile"]["name"] == revealed.customer.company
    assert Decimal(str(accepted["details"]["dealValue"])) == revealed.deal_size.amount
    assert status_from_referral(referral_from_lead(offer, status="withdrawn")) == "withdrawn"
