"""Properties of the waterfall with waiting, exhaustion and reroute (pure, no broker).

Whatever the candidates, responses and wait decisions: a state is ``waiting`` only with nothing
open, and it says so once; ``exhausted`` only after offers, ``unroutable`` only without; a partner
is offered an opportunity at most once, even across a reroute; the counts of an exhaustion add up.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ledger.machine import Command, Status
from streams.offers.lifecycle import (
    Candidate,
    Exhausted,
    Offered,
    OpportunityState,
    Waiting,
    fill,
    reopen,
    respond,
)

PARTNERS = [f"p{i}" for i in range(6)]


def ids(pid: str) -> str:
    return f"ref_{pid}"


# steps: ("fill", candidates, wait) | ("answer", partner index, decline/expire) | ("reroute",)
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("fill"),
            st.lists(st.sampled_from(PARTNERS), unique=True, max_size=4),
            st.booleans(),
        ),
        st.tuples(st.just("answer"), st.integers(0, 5), st.sampled_from(["decline", "expire"])),
        st.tuples(st.just("reroute")),
    ),
    max_size=25,
)


@settings(max_examples=300)
@given(st.integers(1, 3), steps)
def test_waiting_exhausted_and_reroute_keep_their_promises(max_partners: int, plan: list) -> None:
    state = OpportunityState("o/1", "o", "1", max_partners, 60.0)
    now = 0.0
    offered: list[str] = []
    waiting_notices = 0
    for step in plan:
        now += 1.0
        if step[0] == "fill":
            before = state.phase
            result = fill(
                state,
                [Candidate(p, 1.0) for p in step[1]],
                now,
                ids,
                wait_until=now + 100 if step[2] else None,
            )
        elif step[0] == "answer":
            partner = PARTNERS[step[1]]
            if state.referral(ids(partner)) is None:
                continue
            command = Command(step[2], at=now + 1000, reason="timing")
            result, _ = respond(state, ids(partner), command)
        else:
            state = reopen(state, 60.0)
            continue
        for effect in result.effects:
            if isinstance(effect, Offered):
                offered.append(effect.referral.partner_id)
            if isinstance(effect, Waiting):
                waiting_notices += 1
                assert before != "waiting"  # told once per wait
            if isinstance(effect, Exhausted):
                statuses = [r.status for r in result.state.referrals]
                assert effect.tried == len(result.state.referrals)
                assert effect.declined == statuses.count(Status.DECLINED)
                assert effect.expired == statuses.count(Status.EXPIRED)
                assert effect.declined + effect.expired == effect.tried
        state = result.state
        if state.phase == "waiting":
            assert not state.open_referrals and state.wait_until > now
        if state.phase == "exhausted":
            assert state.referrals and not state.open_referrals
        if state.phase == "unroutable":
            assert not state.referrals
        assert len(state.open_referrals) <= max_partners
    assert len(offered) == len(set(offered))  # nobody is offered the same opportunity twice
    assert waiting_notices <= len(plan)
