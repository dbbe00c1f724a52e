"""The what-if replay: the policy in force reproduces live, a candidate's changes are counted."""

from __future__ import annotations

from typing import Any

from schemas.common import Contract
from schemas.ids import opportunity_key
from schemas.operations import ConflictFlagged
from schemas.policy import RoutingPolicy
from schemas.referrals import (
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ReferralLost,
    ReferralWon,
)
from schemas.samples import examples
from schemas.scorecard import PartnerScorecard, empty_scorecard
from streams.policy import DEFAULT_POLICY, parse_toml, ranked_weights, weights_to_mapping
from streams.replay import Recorded, Replay, gini, recorded_routing, spread
from streams.routing import route
from tests.unit.routing.factories import T0, opportunity, profile

START = T0.timestamp()
CANDIDATE = parse_toml("load = 0.0\nfit = 3.0")  # ignore load, favour specialists


def card(pid: str, revision: int = 1, **counts: Any) -> PartnerScorecard:
    data = empty_scorecard(pid).model_dump() | {"revision": revision, **counts}
    return PartnerScorecard.model_validate(data)


def base_history() -> list[tuple[float, Contract]]:
    """A storage specialist, busy, and a generalist with free capacity (first by default)."""
    return [
        (START, profile("origin", ("networking",))),
        (START, profile("storeco", ("storage",), capacity=10)),
        (START, profile("bigstore", ("storage", "backup", "compute", "cloud"), capacity=10)),
        (START + 1, card("storeco", open_offers=8)),
    ]


def opp_at(i: int, **fields: Any) -> tuple[float, Contract]:
    at = START + 100 + i
    return at, opportunity(opportunity_id=f"opp-{i}", published_at=T0, **fields)


def live(history: list[tuple[float, Contract]]) -> dict[str, Recorded]:
    """What the live router would have offered: route() with the defaults at each time."""
    replay = Replay(DEFAULT_POLICY.weights)
    out: dict[str, Recorded] = {}
    for at, event in history:
        replay.feed(at, event)
        if event.__class__.__name__ == "Opportunity":
            opp = event
            decision = route(
                opp,  # type: ignore[arg-type]
                replay.directory,
                replay.stats,
                now=T0.fromtimestamp(at, T0.tzinfo),
                weights=ranked_weights(DEFAULT_POLICY.weights, 1),
            )
            rec = Recorded(policy_version=0)
            rec.offered = [(1, p) for p in decision.partner_ids]
            rec.unroutable = not decision.partner_ids
            out[opportunity_key(opp.originator, opp.opportunity_id)] = rec  # type: ignore[attr-defined]
    return out


def run(history: list[tuple[float, Contract]], candidate: Any = CANDIDATE, **kw: Any) -> Replay:
    replay = Replay(candidate, recorded=live(history), **kw)
    for at, event in history:
        replay.feed(at, event)
    return replay


def test_the_policy_in_force_as_candidate_changes_nothing_and_reproduces_live() -> None:
    history = base_history() + [opp_at(i) for i in range(5)]
    report = run(history, DEFAULT_POLICY.weights).report()
    assert report["replayed"] == 5
    assert report["decisions_changed"] == report["first_choices_changed"] == 0
    assert report["reproduction"] | {"examples": []} == {
        "compared": 5, "reproduced": 5, "differences": {}, "explanations": {}, "examples": [],
    }  # fmt: skip
    assert report["spread"]["before"] == report["spread"]["after"]


def test_a_candidate_that_ignores_load_moves_the_first_choice_and_the_spread() -> None:
    history = base_history() + [opp_at(i) for i in range(4)]
    report = run(history).report()
    assert report["first_choices_changed"] == report["decisions_changed"] == 4
    before, after = report["spread"]["before"], report["spread"]["after"]
    assert before["busiest_share"] == after["busiest_share"] == 1.0  # all to one, then another
    assert before["partners"] == 3 and before["never_offered"] == 2  # origin, storeco
    assert report["spread"]["busiest_before"] == {"bigstore": 4}
    assert report["spread"]["busiest_after"] == {"storeco": 4}
    assert report["by_need"]["storage"]["first_choices_changed"] == 4
    assert report["by_region"]["US-CA"]["replayed"] == 4
    assert report["policies_in_force"] == {"0": 4}


def test_unroutable_before_and_after_are_counted_by_their_main_reason() -> None:
    history = [
        *base_history(),
        opp_at(0, needs=("iot",)),  # nobody offers it
        opp_at(1, share_with=("nobody-here",)),  # consent excludes everyone
        opp_at(2),
    ]
    report = run(history).report()
    assert report["unroutable"]["before"] == {
        "count": 2,
        "reasons": {"no_partner": 1, "outside_consent": 1},
    }
    assert report["unroutable"]["after"] == report["unroutable"]["before"]
    # the shortcut taken for them agrees with route() itself
    replay = run(history)
    for _at, event in history[-3:-1]:
        assert not route(event, replay.directory, replay.stats, now=T0, weights=CANDIDATE).routable  # type: ignore[arg-type]


def test_expected_results_come_from_each_partners_observed_rates() -> None:
    about = {"originator": "origin", "opportunity_id": "old-1"}
    history = [
        *base_history(),
        (START + 2, ReferralAccepted.model_construct(partner_id="storeco", **about)),
        (START + 3, ReferralWon.model_construct(partner_id="storeco", **about)),
        (START + 4, ReferralDeclined.model_construct(partner_id="bigstore", **about)),
        (START + 5, ReferralAccepted.model_construct(partner_id="bigstore", **about)),
        (START + 6, ReferralLost.model_construct(partner_id="bigstore", **about)),
        *[opp_at(i) for i in range(4)],
    ]
    report = run(history).report()
    # before: 4 offers to bigstore (accepts 1 of 2, wins 0 of 1); after: 4 to storeco (1/1, 1/1)
    assert report["expected"]["before"] == {"accepted": 2.0, "won": 0.0}
    assert report["expected"]["after"] == {"accepted": 4.0, "won": 4.0}
    assert report["expected"]["observed_rates"] == {"acceptance": 0.6667, "win": 0.5}


def test_each_opportunity_is_routed_with_the_version_then_in_force() -> None:
    def version(n: int, **weights: float) -> RoutingPolicy:
        mapping = weights_to_mapping(DEFAULT_POLICY.weights) | weights
        return RoutingPolicy(version=n, weights=mapping, applied_at=T0)

    history = [
        *base_history(),
        (START + 50, version(1, load=0.0, fit=3.0)),  # the candidate itself is in force...
        opp_at(0),
        opp_at(1),
        (START + 150, version(2)),  # ...then the defaults again
        opp_at(60),
    ]
    replay = Replay(CANDIDATE)
    for at, event in history:
        replay.feed(at, event)
    report = replay.report()
    assert report["policies_in_force"] == {"1": 2, "2": 1}
    assert report["first_choices_changed"] == 1  # only under version 2


def test_the_window_republished_and_conflicted_opportunities_are_left_out() -> None:
    dup = opp_at(1)
    conflicted = opp_at(2)
    history = [*base_history(), opp_at(0), dup, (dup[0] + 1, dup[1]), conflicted, opp_at(9)]
    flagged = ConflictFlagged(
        opportunity_id="opp-2", originator="origin", domain="acme.example", needs=("storage",),
        first_registered_at=T0, flagged_at=T0,
    )  # fmt: skip
    recorded = recorded_routing([flagged])
    replay = Replay(CANDIDATE, recorded=recorded, since=START + 101, until=START + 105)
    for at, event in history:
        replay.feed(at, event)
    assert replay.replayed == 1  # opp-1 only: opp-0 before, opp-9 after the window
    assert replay.skipped == {"republished": 1, "conflict": 1}


def test_a_recorded_first_choice_the_replay_does_not_make_is_explained() -> None:
    history = [*base_history(), opp_at(0), opp_at(1), opp_at(2)]
    recorded = live(history)
    keys = sorted(recorded)
    recorded[keys[0]].offered = [(1, "storeco")]  # live saw storeco's capacity free
    recorded[keys[1]].offered = [(1, "gone-partner")]
    recorded[keys[2]].offered, recorded[keys[2]].unroutable = [], True
    history.append((START + 2, card("storeco", revision=2, open_offers=10)))  # at capacity
    replay = Replay(DEFAULT_POLICY.weights, recorded=recorded)
    for at, event in sorted(history, key=lambda item: item[0]):
        replay.feed(at, event)
    rep = replay.report()["reproduction"]
    assert rep["compared"] == 3 and rep["reproduced"] == 0
    assert rep["differences"] == {
        "capacity_timing": 1, "profile_timing": 1, "routable_in_replay": 1,
    }  # fmt: skip
    assert set(rep["explanations"]) == set(rep["differences"])


def test_the_recorded_first_round_and_its_policy_version_are_read_from_the_ledger() -> None:
    offer = examples()["io.oppbus.referral.offered.v1"].event
    assert isinstance(offer, OfferMade)
    second = offer.model_copy(update={"partner_id": "other", "rank": 2, "policy_version": 4})
    later = offer.model_copy(update={"partner_id": "late", "round": 2, "rank": 1})
    (rec,) = recorded_routing([second, later, offer]).values()
    assert rec.first_choice == offer.partner_id and rec.partners == (offer.partner_id, "other")
    assert rec.policy_version == 4 and not rec.unroutable


def test_gini_and_spread() -> None:
    assert gini([]) == gini([0, 0]) == 0.0
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 12]) == 0.75  # (n - 1) / n: one partner got everything
    figures = spread({"a": 3, "b": 1}, ["a", "b", "c", "d"])
    assert figures == {
        "offers": 4, "partners": 4, "partners_offered": 2, "never_offered": 2,
        "busiest_share": 0.75, "gini": 0.625,
    }  # fmt: skip


def test_the_bench_history_is_reproduced_exactly_by_the_policy_in_force() -> None:
    """The generated history routes like live (route() at each record's time), so replaying it
    with the policy in force reproduces every first choice: replay == live on 300 opportunities."""
    from ops.bench.replay_data import history

    events, recorded = history(400, 300)
    replay = Replay(DEFAULT_POLICY.weights, recorded=recorded)
    for at, event in events:
        replay.feed(at, event)
    assert replay.compared == 300
    assert replay.reproduced == 300, replay.report()["reproduction"]


def _partnership(a: str, b: str, at: float, *, ended: bool = False) -> tuple[float, Contract]:
    """An active (or ended) partnership between ``a`` and ``b`` on the partnerships topic."""
    from datetime import UTC, datetime

    from schemas.partnership import Partnership
    from schemas.terms import Terms
    from streams.partnerships.machine import accept, end, propose

    when = datetime.fromtimestamp(at, UTC)
    terms = Terms.model_validate({"referral_fee": {"percent": "10"}})
    proposed = propose("ps_0000000000000000000a", a, b, terms, when)
    assert isinstance(proposed, Partnership)
    state = accept(proposed, b, when)
    assert isinstance(state, Partnership)
    if ended:
        state = end(state, a, when)
        assert isinstance(state, Partnership)
    return at, state


def _live_with_partners(history: list[tuple[float, Contract]]) -> dict[str, Recorded]:
    """What live would have offered with the partnerships of each time (the partnership reason
    recorded on each offer), as the router ranks."""
    replay = Replay(DEFAULT_POLICY.weights)
    out: dict[str, Recorded] = {}
    for at, event in history:
        replay.feed(at, event)
        if event.__class__.__name__ == "Opportunity":
            opp: Any = event
            partners = replay.partnerships.active_partners(opp.originator)
            decision = route(
                opp,
                replay.directory,
                replay.stats,
                now=T0.fromtimestamp(at, T0.tzinfo),
                weights=ranked_weights(DEFAULT_POLICY.weights, 1),
                partners=partners,
            )
            rec = Recorded(policy_version=0)
            rec.offered = [(1, p) for p in decision.partner_ids]
            rec.partnered = {c.partner_id: c.values[-1] > 0 for c in decision.candidates}
            rec.unroutable = not decision.partner_ids
            out[opportunity_key(opp.originator, opp.opportunity_id)] = rec
    return out


def test_the_partnerships_of_the_time_are_replayed_and_reproduce_live() -> None:
    """bigstore is first by default; an active partnership with storeco puts storeco first from
    the time it is accepted; a candidate without the partnership weight moves it back."""
    history = [
        *base_history(),
        opp_at(0),
        _partnership("origin", "storeco", START + 150),
        opp_at(60),
        opp_at(61),
    ]
    recorded = _live_with_partners(history)
    firsts = [recorded[k].first_choice for k in sorted(recorded)]
    assert firsts == ["bigstore", "storeco", "storeco"]
    no_partnership = parse_toml("partnership = 0.0")
    replay = Replay(no_partnership, recorded=recorded)
    for at, event in history:
        replay.feed(at, event)
    report = replay.report()
    assert report["reproduction"]["reproduced"] == report["reproduction"]["compared"] == 3
    assert report["first_choices_changed"] == 2  # the two ranked with the partnership
    assert report["spread"]["busiest_after"] == {"bigstore": 3}


def test_a_partnership_live_saw_at_another_time_is_a_partnership_timing_difference() -> None:
    history = [*base_history(), opp_at(0), opp_at(1)]
    recorded = live(history)
    first, second = sorted(recorded)
    # live already knew a partnership with storeco (its offer says so); the replay does not
    recorded[first].offered, recorded[first].partnered = [(1, "storeco")], {"storeco": True}
    # a partners_only opportunity live offered to bigstore, not a partner in the replay
    history[-1] = opp_at(1, partners_only=True)
    recorded[second].offered = [(1, "bigstore")]
    replay = Replay(DEFAULT_POLICY.weights, recorded=recorded)
    for at, event in history:
        replay.feed(at, event)
    rep = replay.report()["reproduction"]
    assert rep["differences"] == {"partnership_timing": 2}
    assert "partnership" in rep["explanations"]["partnership_timing"]
    # the partners_only opportunity found nobody in the replay: no partner at that time
    assert replay.report()["unroutable"]["before"]["reasons"] == {"outside_consent": 1}


def test_an_ended_partnership_no_longer_counts_in_the_replay() -> None:
    history = [
        *base_history(),
        _partnership("origin", "storeco", START + 50),
        opp_at(0),
        _partnership("origin", "storeco", START + 150, ended=True),
        opp_at(60),
    ]
    replay = Replay(DEFAULT_POLICY.weights, recorded=_live_with_partners(history))
    for at, event in history:
        replay.feed(at, event)
    assert replay.offers_before == {"storeco": 1, "bigstore": 1}
    assert replay.reproduced == 2


def test_the_recorded_partnership_reason_is_read_from_the_offers() -> None:
    offer = examples()["io.oppbus.referral.offered.v1"].event
    assert isinstance(offer, OfferMade)
    reason = {"factor": "partnership", "points": 2.0, "value": 1.0, "weight": 2.0}
    data = offer.model_dump(mode="json")
    with_reason = OfferMade.model_validate(data | {"reasons": [*data["reasons"], reason]})
    (rec,) = recorded_routing([with_reason]).values()
    assert rec.partnered == {offer.partner_id: True}
    (old,) = recorded_routing([offer]).values()  # offers made before the factor: unknown
    assert old.partnered == {}
