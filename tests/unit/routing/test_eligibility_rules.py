"""One test per eligibility rule of DESIGN.md, named after what it guards."""

from __future__ import annotations

from datetime import timedelta

from streams.routing import PartnerStats, RoutingStats, Weights, route, route_linear

from .factories import ORIGIN, T0, cert, directory, opportunity, profile

NOW = T0 + timedelta(hours=1)


def _routed(d, opp, stats=None, **kw) -> tuple[str, ...]:
    decision = route(opp, d, stats or RoutingStats(), now=NOW, **kw)
    return decision.partner_ids


def test_complementary_partner_is_offered() -> None:
    d = directory(ORIGIN, profile("store", ("storage",), ("US",)))
    decision = route(opportunity(), d, now=NOW)
    assert decision.partner_ids == ("store",)
    assert decision.eligible == 1 and decision.covering == 1
    assert set(decision.exclusions.values()) == {0}


def test_partner_missing_one_need_is_not_offered() -> None:
    d = directory(ORIGIN, profile("store", ("storage",)))
    decision = route(opportunity(needs=("storage", "backup")), d, now=NOW)
    assert decision.unroutable_reasons() == {"not_covering": 1}
    d.apply(profile("both", ("storage", "backup")))
    decision = route(opportunity(needs=("storage", "backup")), d, now=NOW)
    assert decision.partner_ids == ("both",)
    assert decision.exclusions["not_covering"] == 0  # explains unroutable decisions only


def test_country_partner_covers_subdivision() -> None:
    d = directory(ORIGIN, profile("us", regions=("US",)))
    assert _routed(d, opportunity(region="US-CA")) == ("us",)


def test_subdivision_partner_does_not_cover_other_subdivision_or_country() -> None:
    d = directory(ORIGIN, profile("ca", regions=("US-CA",)))
    assert _routed(d, opportunity(region="US-NY")) == ()
    assert _routed(d, opportunity(region="US")) == ()
    assert _routed(d, opportunity(region="US-CA")) == ("ca",)


def test_partner_in_other_country_is_not_offered() -> None:
    d = directory(ORIGIN, profile("de", regions=("DE",)))
    assert _routed(d, opportunity(region="US-CA")) == ()


def test_originator_is_never_offered_its_own_opportunity() -> None:
    d = directory(profile("origin", ("storage", "networking")))
    decision = route(opportunity(retains=("networking",)), d, now=NOW)
    assert decision.partner_ids == ()
    assert decision.exclusions["originator"] == 1


def test_partner_offering_a_retained_capability_is_competing() -> None:
    d = directory(
        ORIGIN, profile("rival", ("storage", "networking")), profile("pure", ("storage",))
    )
    decision = route(opportunity(), d, now=NOW)
    assert decision.partner_ids == ("pure",)
    assert decision.exclusions["retained_capability"] == 1


def test_retains_defaults_to_originator_capabilities_but_not_the_needs() -> None:
    origin = profile("origin", ("storage", "networking"))
    d = directory(origin, profile("ps", ("storage",)), profile("sn", ("storage", "networking")))
    assert _routed(d, opportunity()) == ("ps",)


def test_explicit_retains_replaces_the_default() -> None:
    d = directory(ORIGIN, profile("rival", ("storage", "networking")))
    assert _routed(d, opportunity(retains=("backup",))) == ("rival",)


def test_declared_competitor_is_excluded_either_way() -> None:
    origin = profile("origin", ("networking",), competitors=("pa",))
    d = directory(origin, profile("pa"), profile("pb", competitors=("origin",)), profile("pc"))
    decision = route(opportunity(), d, now=NOW)
    assert decision.partner_ids == ("pc",)
    assert decision.exclusions["competitor"] == 2


def test_refused_partner_is_excluded_either_way() -> None:
    origin = profile("origin", ("networking",), refuses=("pa",))
    d = directory(origin, profile("pa"), profile("pb", refuses=("origin",)), profile("pc"))
    decision = route(opportunity(), d, now=NOW)
    assert decision.partner_ids == ("pc",)
    assert decision.exclusions["refused"] == 2


def test_partner_not_accepting_is_excluded() -> None:
    d = directory(ORIGIN, profile("off", accepting=False), profile("on"))
    decision = route(opportunity(), d, now=NOW)
    assert decision.partner_ids == ("on",)
    assert decision.exclusions["not_accepting"] == 1


def test_partner_at_capacity_is_excluded() -> None:
    d = directory(ORIGIN, profile("full", capacity=2), profile("free", capacity=2))
    stats = RoutingStats({"full": PartnerStats(open_offers=2), "free": PartnerStats(open_offers=1)})
    decision = route(opportunity(), d, stats, now=NOW)
    assert decision.partner_ids == ("free",)
    assert decision.exclusions["at_capacity"] == 1


def test_zero_capacity_partner_is_never_offered() -> None:
    d = directory(ORIGIN, profile("zero", capacity=0))
    assert route(opportunity(), d, now=NOW).exclusions["at_capacity"] == 1


def test_consent_scope_limits_offers_to_share_with() -> None:
    d = directory(ORIGIN, profile("pa"), profile("pb"))
    opp = opportunity(share_with=("pb", "nobody"))
    decision = route(opp, d, now=NOW)
    assert decision.partner_ids == ("pb",)
    # route() examines the scope only; everyone covering is counted with max_ranked=0
    assert not decision.complete and decision.covering == 1
    assert route(opp, d, now=NOW, weights=Weights(max_ranked=0)).exclusions["outside_consent"] == 1


def test_empty_consent_scope_offers_nobody() -> None:
    d = directory(ORIGIN, profile("pa"))
    assert _routed(d, opportunity(share_with=())) == ()


def test_partner_that_declined_or_let_expire_is_not_offered_again() -> None:
    d = directory(ORIGIN, profile("pa"), profile("pb"))
    decision = route(opportunity(), d, now=NOW, exclude={"pa"})
    assert decision.partner_ids == ("pb",)
    assert decision.exclusions["declined_or_expired"] == 1


def test_required_certification_must_be_held() -> None:
    d = directory(
        ORIGIN,
        profile("none"),
        profile("other-vendor", certifications=(cert("storage", "Dell"),)),
        profile("certified", certifications=(cert("storage", "NetApp"),)),
    )
    opp = opportunity(requires_certification=({"vendor": "netapp", "capability": "storage"},))
    decision = route(opp, d, now=NOW)
    assert decision.partner_ids == ("certified",)
    # route() reads the certified partners only (not complete); every one is counted with
    # max_ranked=0 and by the linear scan
    assert not decision.complete and decision.exclusions["certification"] == 0
    for everyone in (
        route(opp, d, now=NOW, weights=Weights(max_ranked=0)),
        route_linear(opp, d, now=NOW),
    ):
        assert everyone.partner_ids == ("certified",)
        assert everyone.exclusions["certification"] == 2


def test_expired_certification_stops_counting_at_event_time() -> None:
    expiry = NOW + timedelta(minutes=5)
    d = directory(ORIGIN, profile("pc", certifications=(cert("storage", expires_at=expiry),)))
    opp = opportunity(requires_certification=({"vendor": "NetApp", "capability": "storage"},))
    assert route(opp, d, now=NOW).partner_ids == ("pc",)
    assert route(opp, d, now=expiry).partner_ids == ()
    assert route(opp, d, now=expiry - timedelta(microseconds=1)).partner_ids == ("pc",)


def test_need_nobody_offers_is_unroutable_with_reason() -> None:
    d = directory(ORIGIN, profile("pa", ("storage",)))
    decision = route(opportunity(needs=("storage", "iot")), d, now=NOW)
    assert not decision.routable
    assert decision.unroutable_reasons() == {"not_covering": 1}


def test_empty_directory_is_unroutable_with_no_partner() -> None:
    decision = route(opportunity(), directory(), now=NOW)
    assert decision.unroutable_reasons() == {"no_partner": 0}


def test_unroutable_reasons_count_each_rule_most_first() -> None:
    d = directory(
        ORIGIN,
        profile("pa", accepting=False),
        profile("pb", accepting=False),
        profile("pc", ("storage", "security")),
    )
    decision = route(opportunity(), d, now=NOW)
    assert decision.unroutable_reasons() == {"not_accepting": 2, "retained_capability": 1}


def test_each_excluded_partner_counts_once_under_its_first_rule() -> None:
    d = directory(ORIGIN, profile("px", ("storage", "networking"), accepting=False))
    decision = route(opportunity(), d, now=NOW)
    assert sum(decision.exclusions.values()) == 1
    assert decision.exclusions["not_accepting"] == 1
