"""The demo's seeded data is valid input for the API contracts and tells the promised story."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from ops.demo_client import funnel_counts
from ops.demo_network import (
    ORIGINATOR,
    PARTNERS,
    network,
    storage_opportunity,
    unroutable_opportunity,
)
from schemas.opportunity import OpportunityInput
from schemas.partner import PartnerProfileInput
from streams.metrics import ReferralMetrics


def test_every_partner_profile_is_a_valid_put_body():
    for partner in PARTNERS:
        PartnerProfileInput.model_validate(partner.profile)
    kinds = {p.profile["kind"] for p in PARTNERS}
    assert {"reseller", "msp", "distributor"} <= kinds


def test_the_network_has_a_competitor_pair_and_partners_that_would_compete():
    by_id = {p.partner_id: p.profile for p in PARTNERS}
    assert "wingtip-storage" in by_id[ORIGINATOR]["competitors"]
    assert ORIGINATOR in by_id["wingtip-storage"]["competitors"]
    retained = set(storage_opportunity("x")["retains"])
    competing = {pid for pid, prof in by_id.items() if retained & set(prof["capabilities"])}
    assert competing == {ORIGINATOR, "tailspin-msp", "adatum-distribution"}
    needs = set(storage_opportunity("x")["needs"])
    fits = {pid for pid, prof in by_id.items() if needs <= set(prof["capabilities"])}
    assert fits - competing - {"wingtip-storage"} == {"contoso-storage", "fabrikam-data"}


def test_opportunities_are_valid_post_bodies_and_nobody_sells_print():
    OpportunityInput.model_validate(storage_opportunity("nw-demo-0042"))
    OpportunityInput.model_validate(unroutable_opportunity("nw-demo-0043"))
    assert not any("printing" in p.profile["capabilities"] for p in PARTNERS)


def test_tagged_network_renames_ids_everywhere():
    tagged = network("ab12")
    ids = {p.partner_id for p in tagged}
    assert all(pid.endswith("-ab12") for pid in ids)
    for partner in tagged:
        assert set(partner.profile["competitors"]) <= ids
    assert network() == PARTNERS


def test_funnel_counts_reads_the_metrics_exposition():
    registry = CollectorRegistry()
    metrics = ReferralMetrics(registry)
    metrics.opportunity_published()
    metrics.offer_sent(1)
    metrics.offer_sent(2)
    metrics.offer_declined("no_capacity")
    metrics.unroutable("no_candidates")
    counts = funnel_counts(generate_latest(registry).decode())
    assert counts["published"] == 1
    assert counts["offered"] == 2
    assert counts["declined"] == 1
    assert counts["unroutable"] == 1
    assert counts["won"] == 0


def test_tagged_opportunities_name_another_customer_domain():
    # The same customer and need again within the window is a conflict and is not routed.
    assert storage_opportunity("a")["customer"]["domain"] == "fabrikam-health.example.com"
    assert storage_opportunity("a", "ab12")["customer"]["domain"] != "fabrikam-health.example.com"
    tagged = unroutable_opportunity("b", "ab12")["customer"]["domain"]
    assert tagged != unroutable_opportunity("b")["customer"]["domain"]
    OpportunityInput.model_validate(storage_opportunity("a", "ab12"))
