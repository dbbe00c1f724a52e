"""The referral state machine and the offer waterfall, without a broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.ledger.machine import (
    Applied,
    Command,
    Referral,
    Rejected,
    Status,
    Unchanged,
    apply,
)
from streams.offers.lifecycle import (
    Candidate,
    Exhausted,
    Moved,
    Offered,
    OpportunityState,
    Refused,
    Revealed,
    due_referrals,
    fill,
    respond,
    withdraw,
)


def referral(status: Status = Status.OFFERED, **kw) -> Referral:
    base = dict(
        referral_id="ref_1",
        opportunity_key="netco/o1",
        partner_id="storeco",
        status=status,
        offered_at=100.0,
        expires_at=200.0,
        updated_at=100.0,
    )
    base.update(kw)
    return Referral(**base)


WON = Command("won", at=300.0, amount=Decimal("1000.00"), currency="EUR")


@pytest.mark.parametrize(
    ("start", "command", "end"),
    [
        (Status.OFFERED, Command("accept", at=150.0), Status.ACCEPTED),
        (Status.OFFERED, Command("decline", at=150.0, reason="not_a_fit"), Status.DECLINED),
        (Status.OFFERED, Command("expire", at=200.0), Status.EXPIRED),
        (Status.OFFERED, Command("withdraw", at=150.0), Status.WITHDRAWN),
        (Status.ACCEPTED, WON, Status.WON),
        (Status.ACCEPTED, Command("lost", at=300.0, reason="price"), Status.LOST),
        (Status.ACCEPTED, Command("withdraw", at=300.0), Status.WITHDRAWN),
    ],
)
def test_legal_transitions_move_the_referral(start, command, end) -> None:
    outcome = apply(referral(start), command)
    assert isinstance(outcome, Applied)
    assert outcome.referral.status is end and outcome.previous is start
    assert outcome.referral.updated_at == command.at


@pytest.mark.parametrize(
    ("start", "command"),
    [
        (Status.OFFERED, WON),
        (Status.OFFERED, Command("lost", at=1.0, reason="price")),
        (Status.ACCEPTED, Command("decline", at=1.0, reason="timing")),
        (Status.DECLINED, Command("accept", at=1.0)),
        (Status.EXPIRED, Command("accept", at=1.0)),
        (Status.WON, Command("lost", at=1.0, reason="price")),
        (Status.LOST, WON),
        (Status.WITHDRAWN, Command("accept", at=1.0)),
        (Status.WON, Command("withdraw", at=1.0)),
    ],
)
def test_illegal_transitions_are_rejected_with_a_reason_and_change_nothing(start, command) -> None:
    before = referral(start)
    outcome = apply(before, command)
    assert isinstance(outcome, Rejected)
    assert "cannot move referral ref_1 from " + start.value in outcome.reason
    assert outcome.referral is before


def test_a_repeated_event_is_idempotent() -> None:
    accepted = apply(referral(), Command("accept", at=150.0))
    assert isinstance(accepted, Applied)
    again = apply(accepted.referral, Command("accept", at=160.0))
    assert isinstance(again, Unchanged) and again.referral == accepted.referral
    won = apply(accepted.referral, WON)
    assert isinstance(won, Applied)
    assert isinstance(apply(won.referral, WON), Unchanged)
    other_amount = Command("won", at=301.0, amount=Decimal("5.00"), currency="EUR")
    assert isinstance(apply(won.referral, other_amount), Rejected)


def test_won_needs_an_amount_and_expiry_waits_for_the_deadline() -> None:
    accepted = referral(Status.ACCEPTED)
    assert isinstance(apply(accepted, Command("won", at=1.0)), Rejected)
    early = apply(referral(), Command("expire", at=199.0))
    assert isinstance(early, Unchanged)
    # the timer racing an acceptance is not an error
    assert isinstance(apply(accepted, Command("expire", at=500.0)), Unchanged)


def ids(partner_id: str) -> str:
    return f"ref_{partner_id}"


def state(max_partners: int = 1) -> OpportunityState:
    return OpportunityState(
        key="netco/o1", originator="netco", opportunity_id="o1", max_partners=max_partners, ttl_s=60
    )


CANDS = [Candidate("a", 0.9, ("fit",)), Candidate("b", 0.8), Candidate("c", 0.7)]


def test_the_waterfall_offers_declines_and_reoffers_to_the_next() -> None:
    step = fill(state(), CANDS, now=0.0, referral_id_of=ids)
    assert [type(e) for e in step.effects] == [Offered]
    first = step.effects[0].referral
    assert (first.partner_id, first.expires_at, first.reasons) == ("a", 60.0, ("fit",))
    step, freed = respond(step.state, "ref_a", Command("decline", at=5.0, reason="timing"))
    assert freed and isinstance(step.effects[0], Moved)
    # the fresh ranking still lists "a": it has been tried and is skipped
    step = fill(step.state, CANDS, now=5.0, referral_id_of=ids)
    assert [e.referral.partner_id for e in step.effects if isinstance(e, Offered)] == ["b"]
    assert due_referrals(step.state, 64.0) == ()
    (due,) = due_referrals(step.state, 65.0)
    step, freed = respond(step.state, due.referral_id, Command("expire", at=65.0))
    assert freed
    step = fill(step.state, CANDS, now=65.0, referral_id_of=ids)
    assert [e.referral.partner_id for e in step.effects if isinstance(e, Offered)] == ["c"]
    step, _ = respond(step.state, "ref_c", Command("accept", at=70.0))
    assert [type(e) for e in step.effects] == [Moved, Revealed]
    assert step.effects[1].referral.partner_id == "c"
    # a repeated accept changes nothing and replays the very same events (same referral, times)
    again, freed = respond(step.state, "ref_c", Command("accept", at=71.0))
    assert not freed and again.state == step.state
    assert [(type(e), e.referral) for e in again.effects] == [
        (type(e), e.referral) for e in step.effects
    ]


def test_exhausted_when_nobody_is_left_and_originator_never_offered() -> None:
    step = fill(state(), [Candidate("netco", 1.0)], now=0.0, referral_id_of=ids)
    assert step.state.phase == "unroutable"
    assert step.effects == (Exhausted("no eligible partner", 0, 1),)
    step = fill(state(), CANDS[:1], now=0.0, referral_id_of=ids)
    step, _ = respond(step.state, "ref_a", Command("decline", at=1.0, reason="timing"))
    step = fill(step.state, CANDS[:1], now=1.0, referral_id_of=ids)
    assert step.state.phase == "exhausted"
    assert step.effects == (Exhausted("every eligible partner passed", 1, 1, declined=1),)


def test_max_partners_holds_that_many_open_offers() -> None:
    step = fill(state(max_partners=2), CANDS, now=0.0, referral_id_of=ids)
    assert [e.referral.partner_id for e in step.effects] == ["a", "b"]
    assert fill(step.state, CANDS, now=1.0, referral_id_of=ids).effects == ()


def test_withdrawal_closes_open_offers_and_unknown_referrals_are_refused() -> None:
    step = fill(state(max_partners=2), CANDS, now=0.0, referral_id_of=ids)
    step, _ = respond(step.state, "ref_a", Command("accept", at=1.0))
    done = withdraw(step.state, now=2.0, reason="customer went elsewhere")
    assert [e.referral.status for e in done.effects] == [Status.WITHDRAWN, Status.WITHDRAWN]
    assert done.state.phase == "withdrawn" and withdraw(done.state, 3.0, None).effects == ()
    late, freed = respond(done.state, "ref_b", Command("accept", at=4.0))
    assert isinstance(late.effects[0], Refused) and not freed
    unknown, _ = respond(done.state, "ref_zz", Command("accept", at=4.0))
    assert unknown.effects == (Refused("ref_zz", "unknown referral ref_zz"),)


def test_state_round_trips_through_its_dict() -> None:
    step = fill(state(max_partners=2), CANDS, now=0.0, referral_id_of=ids)
    step, _ = respond(step.state, "ref_a", Command("accept", at=1.0))
    step, _ = respond(step.state, "ref_a", WON)
    assert OpportunityState.from_dict(step.state.to_dict()) == step.state
