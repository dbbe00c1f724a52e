"""AWS Partner Central opportunity <-> oppbus mapping, on a checked-in sample document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

import connectors.interop
from connectors.interop.aws import (
    AWS_STAGES,
    LOST_TO_AWS,
    REVIEW_OF_ROUTING,
    aws_lifecycle,
    aws_opportunity_from_opportunity,
    opportunity_from_aws,
    status_from_aws,
)
from connectors.interop.common import REFERRAL_STATUSES, MappingError
from schemas.opportunity import Opportunity

SAMPLE = Path(connectors.interop.__file__).parent / "samples" / "aws_opportunity.json"


def sample() -> dict:
    return orjson.loads(SAMPLE.read_bytes())


def test_sample_maps_to_an_opportunity() -> None:
    opp = opportunity_from_aws(sample())
    assert opp.opportunity_id == "CRM-OPP-000456"
    assert opp.needs == ("storage", "backup", "professional-services")
    assert opp.region == "US-WA"
    assert opp.industry == "financial-services"  # the vocabulary's code (schemas/industries.py)
    assert opp.deal_size.amount == Decimal("150000.00")  # 12 x the monthly spend
    assert opp.expected_close == date(2027, 2, 28)
    assert opp.customer.company == "Northwind Traders"
    assert opp.customer.normalised_domain == "northwind-traders.com"
    assert opp.customer.contacts[0].role == "CIO"
    assert status_from_aws(sample()["LifeCycle"]["Stage"]) == ("accepted", None)


@pytest.mark.parametrize("status", REFERRAL_STATUSES)
def test_every_status_has_a_stage(status: str) -> None:
    lifecycle = aws_lifecycle(status)  # type: ignore[arg-type]
    assert lifecycle["Stage"] in AWS_STAGES
    back, _ = status_from_aws(lifecycle["Stage"], lifecycle.get("ClosedLostReason"))
    # declined, expired and withdrawn have no AWS stage of their own: they close as lost.
    assert back == (status if status in ("offered", "accepted", "won", "lost") else "lost")


@pytest.mark.parametrize("reason", sorted(LOST_TO_AWS))
def test_lost_reasons_round_trip(reason: str) -> None:
    lifecycle = aws_lifecycle("lost", reason)
    assert lifecycle["Stage"] == "Closed Lost"
    assert status_from_aws("Closed Lost", lifecycle["ClosedLostReason"]) == ("lost", reason)


def test_aws_stages_read_as_oppbus_statuses() -> None:
    assert status_from_aws("Prospect") == ("offered", None)
    assert status_from_aws("Technical Validation") == ("accepted", None)
    assert status_from_aws("business validation") == ("accepted", None)
    assert status_from_aws("Launched") == ("won", None)
    assert status_from_aws("Closed Lost", "Lost to Competitor - Google") == ("lost", "competitor")
    assert status_from_aws("Closed Lost", "Security / Compliance") == ("lost", "other")
    with pytest.raises(MappingError):
        status_from_aws("Negotiation")


def test_rejected_by_aws_review_is_not_imported() -> None:
    doc = sample()
    doc["LifeCycle"]["ReviewStatus"] = "Rejected"
    with pytest.raises(MappingError) as info:
        opportunity_from_aws(doc)
    assert info.value.errors[0].field == "LifeCycle.ReviewStatus"


def test_missing_spend_and_bad_website_are_named() -> None:
    doc = sample()
    doc["Project"]["ExpectedCustomerSpend"] = []
    with pytest.raises(MappingError, match="ExpectedCustomerSpend"):
        opportunity_from_aws(doc)
    doc = sample()
    doc["Customer"]["Account"]["WebsiteUrl"] = "not a url"
    with pytest.raises(MappingError) as info:
        opportunity_from_aws(doc)
    assert info.value.errors[0].field == "Customer (customer.domain)"


def test_round_trip_and_review_status_of_routing() -> None:
    opp = opportunity_from_aws(sample())
    published = Opportunity.model_validate(
        {**opp.model_dump(), "originator": "net-reseller", "published_at": datetime.now(UTC)}
    )
    doc = orjson.loads(
        orjson.dumps(aws_opportunity_from_opportunity(published, status="won", routing="accepted"))
    )
    assert doc["LifeCycle"]["Stage"] == "Committed"
    assert doc["LifeCycle"]["ReviewStatus"] == "Approved"
    assert doc["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "12500.00"
    back = opportunity_from_aws(doc)
    for field in ("opportunity_id", "needs", "region", "industry", "deal_size", "expected_close"):
        assert getattr(back, field) == getattr(opp, field), field
    assert back.customer == opp.customer
    assert REVIEW_OF_ROUTING == {
        "published": "Submitted",
        "offered": "In review",
        "accepted": "Approved",
        "unroutable": "Action Required",
        "withdrawn": "Rejected",
    }
