"""Ranking: each factor moves the score the documented way; ties spread; explanations."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from streams.routing import FACTORS, PartnerStats, RoutingStats, Weights, route

from .factories import ORIGIN, T0, cert, directory, opportunity, profile

NOW = T0 + timedelta(hours=1)


def _order(d, opp=None, stats=None, **kw) -> tuple[str, ...]:
    return route(opp or opportunity(), d, stats or RoutingStats(), now=NOW, **kw).partner_ids


def test_specialist_ranks_above_generalist() -> None:
    d = directory(
        ORIGIN, profile("generalist", ("storage", "backup", "cloud")), profile("specialist")
    )
    assert _order(d) == ("specialist", "generalist")


def test_valid_certification_ranks_above_none_or_expired() -> None:
    d = directory(
        ORIGIN,
        profile("plain"),
        profile("expired", certifications=(cert("storage", expires_at=NOW),)),
        profile("certified", certifications=(cert("storage", expires_at=NOW + timedelta(days=1)),)),
    )
    order = _order(d)
    assert order[0] == "certified"


def test_exact_subdivision_ranks_above_country() -> None:
    d = directory(ORIGIN, profile("country", regions=("US",)), profile("exact", regions=("US-CA",)))
    assert _order(d) == ("exact", "country")


def test_listed_industry_ranks_above_other_industry() -> None:
    d = directory(
        ORIGIN,
        profile("retail", industries=("retail",)),
        profile("health", industries=("Healthcare",)),
    )
    assert _order(d) == ("health", "retail")


def test_higher_acceptance_and_win_rates_rank_higher() -> None:
    d = directory(ORIGIN, profile("good"), profile("poor"))
    stats = RoutingStats(
        {
            "good": PartnerStats(offers_received=10, accepted=9, declined=1, won=6, lost=2),
            "poor": PartnerStats(
                offers_received=10, accepted=2, declined=4, expired=4, won=0, lost=2
            ),
        }
    )
    assert _order(d, stats=stats) == ("good", "poor")


def test_new_partner_is_not_starved_by_a_mediocre_history() -> None:
    d = directory(ORIGIN, profile("newbie"), profile("mediocre"))
    stats = RoutingStats(
        {
            "mediocre": PartnerStats(
                offers_received=20, accepted=6, declined=10, expired=4, won=2, lost=4
            )
        }
    )
    assert _order(d, stats=stats)[0] == "newbie"


def test_smoothing_keeps_one_lucky_acceptance_from_dominating() -> None:
    d = directory(ORIGIN, profile("lucky"), profile("proven"))
    stats = RoutingStats(
        {
            "lucky": PartnerStats(offers_received=1, accepted=1),
            "proven": PartnerStats(offers_received=50, accepted=45, declined=5),
        }
    )
    assert _order(d, stats=stats) == ("proven", "lucky")


def test_faster_acceptance_ranks_higher() -> None:
    d = directory(ORIGIN, profile("fast"), profile("slow"))
    stats = RoutingStats(
        {
            "fast": PartnerStats(accepted=5, declined=5, mean_s_to_accept=600),
            "slow": PartnerStats(accepted=5, declined=5, mean_s_to_accept=3 * 86_400),
        }
    )
    assert _order(d, stats=stats) == ("fast", "slow")


def test_busy_partner_yields_to_idle_one() -> None:
    d = directory(ORIGIN, profile("busy", capacity=10), profile("idle", capacity=10))
    stats = RoutingStats({"busy": PartnerStats(open_offers=8), "idle": PartnerStats(open_offers=1)})
    assert _order(d, stats=stats) == ("idle", "busy")


def test_reciprocity_favours_partner_that_gave_the_originator_referrals() -> None:
    d = directory(ORIGIN, profile("giver"), profile("taker"))
    stats = RoutingStats(pairs={("giver", "origin"): 4, ("origin", "taker"): 4})
    assert _order(d, stats=stats) == ("giver", "taker")


def test_an_active_partnership_ranks_the_partner_first_and_says_so() -> None:
    d = directory(ORIGIN, profile("pa"), profile("pb"), profile("pc"))
    plain = _order(d)
    last = plain[-1]
    decision = route(opportunity(), d, RoutingStats(), now=NOW, partners={last, "not-listed"})
    assert decision.partner_ids[0] == last
    reasons = {c.partner_id: {r.factor: r for r in c.reasons} for c in decision.candidates}
    mine = reasons[last]["partnership"]
    assert mine.value == 1.0 and mine.weight == Weights().partnership
    assert mine.contribution == pytest.approx(Weights().partnership / Weights().total, abs=1e-6)
    assert mine.detail == "has an active partnership with the originator"
    other = reasons[plain[0]]["partnership"]
    assert other.value == 0.0 and other.contribution == 0.0
    assert other.detail == "no active partnership with the originator"
    for c in decision.candidates:  # the explanation still adds up to the score
        assert sum(r.contribution for r in c.reasons) == pytest.approx(c.score, abs=1e-5)


def test_a_partnership_makes_nobody_eligible_and_can_be_weighted_away() -> None:
    rival = profile("rival", competitors=("origin",))
    d = directory(ORIGIN, rival, profile("pa"), profile("pb"))
    decision = route(opportunity(), d, now=NOW, partners={"rival", "origin"})
    assert "rival" not in decision.partner_ids and "origin" not in decision.partner_ids
    assert decision.exclusions["competitor"] == 1
    plain = _order(d)
    assert _order(d, partners={plain[-1]}, weights=Weights(partnership=0.0)) == plain


def test_weights_are_configurable_in_one_place() -> None:
    d = directory(ORIGIN, profile("busy-fast", capacity=10), profile("idle-slow", capacity=10))
    stats = RoutingStats(
        {
            "busy-fast": PartnerStats(accepted=5, open_offers=9, mean_s_to_accept=60),
            "idle-slow": PartnerStats(accepted=5, open_offers=0, mean_s_to_accept=86_400 * 7),
        }
    )
    assert _order(d, stats=stats)[0] == "idle-slow"
    speedy = Weights(load=0.0, speed=10.0)
    assert _order(d, stats=stats, weights=speedy)[0] == "busy-fast"


def test_invalid_weights_are_rejected() -> None:
    with pytest.raises(ValueError):
        Weights(load=-1)
    with pytest.raises(ValueError):
        Weights(**dict.fromkeys(FACTORS, 0.0))
    with pytest.raises(ValueError):
        Weights(prior=1.5)


def test_every_candidate_explains_its_score() -> None:
    d = directory(
        ORIGIN, profile("pa", certifications=(cert("storage"),), industries=("healthcare",))
    )
    (candidate,) = route(opportunity(), d, now=NOW).candidates
    assert [r.factor for r in candidate.reasons] == list(FACTORS)
    w = Weights()
    expected = sum(r.value * r.weight for r in candidate.reasons) / w.total
    assert candidate.score == pytest.approx(expected, abs=1e-3)
    details = {r.factor: r.detail for r in candidate.reasons}
    assert details["certification"] == (
        "operator-verified certification for 1 of 1 needed capabilities"
    )
    assert sum(r.contribution for r in candidate.reasons) == pytest.approx(
        candidate.score, abs=1e-5
    )
    assert details["region"] == "serves US, which covers US-CA"
    assert candidate.reasons_as_dicts()[0]["factor"] == "fit"


def test_reasons_never_name_a_competitor_or_refused_partner() -> None:
    origin = profile("origin", ("networking",), competitors=("rival-co",), refuses=("bad-co",))
    d = directory(origin, profile("rival-co"), profile("bad-co"), profile("fine-co"))
    decision = route(opportunity(), d, now=NOW)
    text = repr(decision)
    assert "rival-co" not in text and "bad-co" not in text


def test_ties_break_by_opportunity_not_alphabetically() -> None:
    d = directory(ORIGIN, *(profile(f"twin-{i:02d}") for i in range(10)))
    firsts = Counter(_order(d, opportunity(opportunity_id=f"opp-{n}"))[0] for n in range(200))
    assert len(firsts) == 10  # everybody comes first for some opportunity
    assert firsts["twin-00"] < 50


def test_same_input_gives_same_ranking() -> None:
    d = directory(ORIGIN, *(profile(f"twin-{i:02d}") for i in range(10)))
    assert _order(d) == _order(d)


def test_smoothed_rates_of_new_and_proven_partners() -> None:
    d = directory(ORIGIN, profile("newbie"), profile("proven"))
    stats = RoutingStats(
        {
            "proven": PartnerStats(
                offers_received=10, accepted=8, declined=2, won=3, lost=1, mean_s_to_accept=4 * 3600
            )
        }
    )
    values = {
        c.partner_id: dict(zip(FACTORS, c.values, strict=True))
        for c in route(opportunity(), d, stats, now=NOW).candidates
    }
    assert values["newbie"]["acceptance"] == 0.5 and values["newbie"]["win"] == 0.5
    assert values["newbie"]["speed"] == 0.5 and values["newbie"]["reciprocity"] == 0.5
    assert values["proven"]["acceptance"] == pytest.approx((8 + 2) / (10 + 4))
    assert values["proven"]["win"] == pytest.approx((3 + 2) / (4 + 4))
    assert values["proven"]["speed"] == pytest.approx(0.5)


def test_a_claimed_certification_neither_satisfies_nor_counts_and_the_reason_says_so() -> None:
    claimed = cert("storage", expires_at=NOW + timedelta(days=9000), status="claimed")
    d = directory(ORIGIN, profile("self-certified", certifications=(claimed,)))
    required = opportunity(requires_certification=({"vendor": "netapp", "capability": "storage"},))
    assert route(required, d, now=NOW).unroutable_reasons() == {"certification": 1}
    (candidate,) = route(opportunity(), d, now=NOW).candidates
    reason = {r.factor: r for r in candidate.reasons}["certification"]
    assert reason.value == 0.0 and reason.contribution == 0.0
    assert "claimed, not verified (not counted) for 1" in reason.detail


def test_the_operator_cap_bounds_the_partner_capacity() -> None:
    capped = profile("big", capacity=100_000).model_copy(update={"capacity_cap": 1})
    d = directory(ORIGIN, capped)
    busy = RoutingStats({"big": PartnerStats(open_offers=1)})
    assert route(opportunity(), d, busy, now=NOW).unroutable_reasons() == {"at_capacity": 1}
    (candidate,) = route(opportunity(), d, now=NOW).candidates
    load = {r.factor: r for r in candidate.reasons}["load"]
    assert load.detail == "0 open offers of a capacity of 1 (capped by the operator)"
