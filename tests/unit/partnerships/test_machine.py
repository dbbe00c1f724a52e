"""The partnership state machine: who may act, what each action does, properties over any story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from schemas.partnership import Partnership
from schemas.terms import Terms
from streams.partnerships.machine import (
    Refusal,
    accept,
    between,
    end,
    in_force,
    propose,
    propose_terms,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PID = "ps_0123456789abcdef0123"
TEN = Terms.model_validate({"referral_fee": {"percent": "10"}})
TWELVE = Terms.model_validate({"referral_fee": {"percent": "12"}, "version": 7})


def _proposed() -> Partnership:
    p = propose(PID, "north", "south", TEN, T0)
    assert isinstance(p, Partnership)
    return p


def _ok(result: Partnership | Refusal) -> Partnership:
    assert isinstance(result, Partnership), result
    return result


def test_propose_then_the_other_side_accepts() -> None:
    p = _proposed()
    assert p.status == "proposed" and p.awaiting == "south" and in_force(p) is None
    assert p.terms.version == 1 and p.revision == 1
    active = _ok(accept(p, "south", T0 + timedelta(hours=1)))
    assert active.status == "active" and active.awaiting is None and in_force(active) == TEN
    assert active.activated_at == T0 + timedelta(hours=1) and active.revision == 2


def test_only_the_other_side_accepts_and_strangers_get_404() -> None:
    p = _proposed()
    assert accept(p, "north", T0) == Refusal(
        403, "only the other side can accept what you proposed"
    )
    for action in (
        lambda: accept(p, "mallory", T0),
        lambda: end(p, "mallory", T0),
        lambda: propose_terms(p, "mallory", TWELVE, T0),
    ):
        refused = action()
        assert isinstance(refused, Refusal) and refused.status == 404


def test_new_terms_come_into_force_when_the_other_side_accepts() -> None:
    active = _ok(accept(_proposed(), "south", T0))
    proposed = _ok(propose_terms(active, "south", TWELVE, T0))
    assert proposed.pending_terms is not None and proposed.pending_terms.version == 2
    assert proposed.awaiting == "north" and in_force(proposed) == TEN  # not yet
    assert isinstance(accept(proposed, "south", T0), Refusal)
    agreed = _ok(accept(proposed, "north", T0))
    assert in_force(agreed) is not None and in_force(agreed).referral_fee == TWELVE.referral_fee  # type: ignore[union-attr]
    assert agreed.terms.version == 2 and agreed.pending_terms is None
    assert propose_terms(agreed, "north", TWELVE, T0) != agreed
    assert _ok(propose_terms(agreed, "north", TWELVE, T0)).pending_terms.version == 3  # type: ignore[union-attr]


def test_the_same_terms_proposal_twice_changes_nothing() -> None:
    active = _ok(accept(_proposed(), "south", T0))
    once = _ok(propose_terms(active, "south", TWELVE, T0))
    assert propose_terms(once, "south", TWELVE, T0 + timedelta(1)) is once


def test_either_side_ends_and_ended_is_final() -> None:
    for side in ("north", "south"):
        ended = _ok(end(_ok(accept(_proposed(), "south", T0)), side, T0))
        assert ended.status == "ended" and ended.ended_by == side and in_force(ended) is None
        for action in (
            lambda p=ended: accept(p, "south", T0),
            lambda p=ended: end(p, "north", T0),
            lambda p=ended: propose_terms(p, "north", TWELVE, T0),
        ):
            refused = action()
            assert isinstance(refused, Refusal) and refused.status == 409


def test_terms_of_a_proposal_cannot_change_and_self_partnership_is_refused() -> None:
    assert isinstance(propose_terms(_proposed(), "north", TWELVE, T0), Refusal)
    assert isinstance(propose(PID, "north", "north", TEN, T0), Refusal)


def test_between_finds_the_live_partnership_of_a_pair() -> None:
    p = _proposed()
    ended = _ok(end(p, "north", T0))
    assert between([p], "south", "north") is p
    assert between([ended], "north", "south") is None
    assert between([p], "north", "east") is None


ACTORS = ("north", "south", "mallory")
actions = st.lists(
    st.tuples(st.sampled_from(["accept", "end", "terms"]), st.sampled_from(ACTORS)), max_size=12
)


@given(actions)
def test_any_story_keeps_the_invariants(story: list[tuple[str, str]]) -> None:
    p = _proposed()
    now = T0
    for kind, by in story:
        now += timedelta(minutes=1)
        if kind == "accept":
            result = accept(p, by, now)
        elif kind == "end":
            result = end(p, by, now)
        else:
            result = propose_terms(p, by, TWELVE, now)
        if by == "mallory":
            assert isinstance(result, Refusal) and result.status == 404
        if isinstance(result, Refusal):
            continue
        assert result.revision >= p.revision and result.terms.version >= p.terms.version
        assert {result.proposer, result.partner} == {"north", "south"}
        assert p.status != "ended"  # nothing moves an ended partnership
        if result.status == "active" and p.status == "proposed":
            assert by == "south"  # only the other side activates
        if result.terms != p.terms:
            assert by == p.awaiting  # terms change only by the awaited side's acceptance
        assert (result.awaiting is None) == (result.pending_terms is None) or (
            result.status == "proposed"
        )
        p = result
