"""The offer plan: max_partners hold at once, then the waterfall after declines and expiries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.routing import OfferPlan, exhausted, next_offers, plan_offers, replan, route

from .factories import ORIGIN, T0, directory, opportunity, profile

PLAN = OfferPlan("origin/opp-1", ("p1", "p2", "p3", "p4"), max_partners=2)


def test_first_offers_go_to_the_best_max_partners() -> None:
    assert next_offers(PLAN, {}) == ("p1", "p2")


def test_nothing_more_while_max_partners_hold_it() -> None:
    assert next_offers(PLAN, {"p1": "offered", "p2": "accepted"}) == ()


def test_decline_passes_the_place_down_the_waterfall() -> None:
    assert next_offers(PLAN, {"p1": "declined", "p2": "offered"}) == ("p3",)


def test_expiry_passes_the_place_down_the_waterfall() -> None:
    assert next_offers(PLAN, {"p1": "expired", "p2": "expired"}) == ("p3", "p4")


def test_partner_is_never_offered_twice() -> None:
    statuses = {"p1": "declined", "p2": "expired", "p3": "declined", "p4": "offered"}
    assert next_offers(PLAN, statuses) == ()


def test_won_and_lost_keep_their_place() -> None:
    assert next_offers(PLAN, {"p1": "won", "p2": "lost"}) == ()


def test_withdrawn_opportunity_offers_nobody() -> None:
    assert next_offers(PLAN, {"p1": "withdrawn"}) == ()
    assert not exhausted(PLAN, {"p1": "withdrawn"})


def test_exhausted_when_everyone_declined_or_expired() -> None:
    done = dict.fromkeys(PLAN.order, "declined")
    assert exhausted(PLAN, done)
    assert not exhausted(PLAN, {**done, "p4": "offered"})
    assert not exhausted(PLAN, {"p1": "declined"})


def test_replan_appends_new_candidates_and_keeps_places() -> None:
    d = directory(ORIGIN, profile("p1"), profile("p9"))
    decision = route(opportunity(), d, now=T0 + timedelta(hours=1), exclude={"p1"})
    plan = replan(OfferPlan("origin/opp-1", ("p1",)), decision)
    assert plan.order == ("p1", "p9")


def test_plan_of_a_decision_follows_its_ranking() -> None:
    d = directory(ORIGIN, profile("p1"), profile("p2", regions=("US-CA",)))
    decision = route(opportunity(max_partners=2), d, now=T0 + timedelta(hours=1))
    plan = plan_offers(decision, 2)
    assert plan.order == ("p2", "p1") and plan.opportunity_key == "origin/opp-1"


def test_plan_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        OfferPlan("k", ("p1",), max_partners=0)
    with pytest.raises(ValueError):
        OfferPlan("k", ("p1", "p1"))
