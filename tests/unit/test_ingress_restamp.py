"""The principal decides: an ingress record acts for the topic's partner whatever its body says."""

from __future__ import annotations

import pytest

from connectors.ingress import ingress_partner, restamp
from schemas.errors import InvalidEvent
from schemas.samples import example
from streams.settings import load_settings


def test_the_topic_names_the_partner() -> None:
    settings = load_settings({"topic_prefix": "bus"}, env={})
    assert ingress_partner(settings, "bus.ingress.acme") == "acme"
    assert ingress_partner(settings, "bus.ingress.") is None
    assert ingress_partner(settings, "bus.opportunities") is None
    assert ingress_partner(settings, "other.ingress.acme") is None


@pytest.mark.parametrize(
    ("ce_type", "field"),
    [
        ("io.oppbus.opportunity.published.v1", "originator"),
        ("io.oppbus.opportunity.withdrawn.v1", "originator"),
        ("io.oppbus.referral.accept.v1", "partner_id"),
        ("io.oppbus.referral.decline.v1", "partner_id"),
        ("io.oppbus.referral.outcome.v1", "partner_id"),
    ],
)
def test_the_actor_is_overwritten_with_the_topics_partner(ce_type: str, field: str) -> None:
    event = example(ce_type)
    assert getattr(event, field) != "acme"
    assert getattr(restamp("acme", event), field) == "acme"


@pytest.mark.parametrize(
    "ce_type",
    ["io.oppbus.partner.updated.v1", "io.oppbus.credential.updated.v1",
     "io.oppbus.webhook.subscribed.v1", "io.oppbus.referral.offered.v1",
     "io.oppbus.lead.revealed.v1"],
)  # fmt: skip
def test_anything_but_opportunities_and_responses_is_refused(ce_type: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        restamp("acme", example(ce_type))
    assert info.value.reason == "ingress_type"
