"""The offer lifecycle of a team opportunity as pure functions (DESIGN.md "Teaming").

Each role of the team is its own referral with its own waterfall and deadline:

* :func:`start_team` offers every role of a planned team to its member at once (or, when no team
  covers the needs, makes the opportunity unroutable and the team incomplete with the reasons);
* :func:`team_after_response` runs after a response or an expiry: a role whose holder declined or
  let the offer expire goes to the best untried partner for that role (compatible with the other
  members, offering none of their roles); when nobody is left for it, its needs are **re-planned
  once** (they may then be split between several new roles); when that is used or finds nobody,
  the role is *unfilled* and the team *incomplete*, with the reason per role. Once every role is
  accepted the team is *assembled*.

Planning is a function passed in (``PlanRoles``: the router adapts ``plan_opportunity_team``), so
nothing here ranks, does I/O or reads a clock. The referrals themselves move through
``streams.offers.lifecycle.respond`` like any other; this module only keeps the roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from schemas.teams import role_name
from streams.ledger.machine import Referral, Status
from streams.offers.lifecycle import (
    Candidate,
    Effect,
    Exhausted,
    Offered,
    OpportunityState,
    ReferralIdOf,
    Step,
)
from streams.offers.team_state import (
    Member,
    RoleState,
    TeamAssembledFx,
    TeamIncompleteFx,
    TeamPlannedFx,
    TeamState,
)
from streams.routing.team import NoTeam, Pick, TeamPlan

__all__ = ["PlanRoles", "members_of", "retold", "start_team", "team_after_response"]

# (needs to plan, members kept (the new ones must suit them), partners tried) -> a plan
PlanRoles = Callable[[tuple[str, ...], frozenset[str], frozenset[str]], TeamPlan | NoTeam]

_HELD = (Status.ACCEPTED, Status.WON, Status.LOST)


def start_team(
    state: OpportunityState, plan: TeamPlan | NoTeam, now: float, referral_id_of: ReferralIdOf
) -> Step:
    """Offer each role of ``plan`` to its member; no plan: unroutable, the team incomplete."""
    if isinstance(plan, NoTeam):
        reasons = tuple(sorted(plan.reasons.items())) or (("", "no eligible partner"),)
        incomplete = TeamIncompleteFx(reasons, now)
        team = TeamState(status="incomplete").tell(incomplete)
        state = replace(state, phase="unroutable", team=team)
        return Step(state, (Exhausted("no team covers the needs", 0), incomplete))
    wave = state.rounds + 1
    roles: list[RoleState] = []
    new: list[Referral] = []
    for role in plan.roles:
        referral = _offer(state, role.member, now, referral_id_of, wave)
        new.append(referral)
        roles.append(RoleState(role.needs, (referral.referral_id,)))
    planned = TeamPlannedFx(
        1, tuple(_member(r.needs, ref) for r, ref in zip(roles, new, strict=True)), now
    )
    team = TeamState(tuple(roles)).tell(planned)
    state = replace(
        state, referrals=state.referrals + tuple(new), rounds=wave, phase="open", team=team
    )
    effects: tuple[Effect, ...] = (planned, *(Offered(r) for r in new))
    return Step(state, effects)


def team_after_response(
    step: Step, now: float, plan_roles: PlanRoles, referral_id_of: ReferralIdOf
) -> Step:
    """Refill the roles nobody holds, re-plan once, or give up on them; then see whether the
    team is assembled (or incomplete). A state without a team is returned as is."""
    state = step.state
    team = state.team
    if team is None or team.status != "assembling" or state.phase != "open":
        return step
    effects: list[Effect] = list(step.effects)
    unfilled: list[tuple[str, str]] = []
    index = 0
    while index < len(team.roles):
        role = team.roles[index]
        index += 1
        if role.status != "open" or _holder(state, role) is not None:
            continue
        kept = frozenset(p for p in _members(state, team) if p)
        plan = plan_roles(role.needs, kept, state.tried)
        if isinstance(plan, TeamPlan) and plan.size == 1:  # the role's waterfall goes on
            wave = state.rounds + 1
            referral = _offer(state, plan.roles[0].member, now, referral_id_of, wave)
            longer = replace(role, referrals=(*role.referrals, referral.referral_id))
            team = _set_role(team, role, longer)
            state = replace(state, referrals=(*state.referrals, referral), rounds=wave)
            effects.append(Offered(referral))
        elif isinstance(plan, TeamPlan) and not team.replanned:  # split among new roles, once
            wave = state.rounds + 1
            new_roles: list[RoleState] = []
            new: list[Referral] = []
            for planned in plan.roles:
                referral = _offer(state, planned.member, now, referral_id_of, wave)
                state = replace(state, referrals=(*state.referrals, referral))
                new.append(referral)
                new_roles.append(RoleState(planned.needs, (referral.referral_id,)))
            replaced = _set_role(team, role, replace(role, status="replaced"))
            team = replace(replaced, roles=(*replaced.roles, *new_roles), replanned=True)
            state = replace(state, rounds=wave)
            members = tuple(_member(r.needs, ref) for r, ref in zip(new_roles, new, strict=True))
            replan = TeamPlannedFx(2, members, now)
            team = team.tell(replan)
            effects.append(replan)
            effects.extend(Offered(r) for r in new)
        else:
            reason = _why(plan, team.replanned)
            team = _set_role(team, role, replace(role, status="unfilled", reason=reason))
            unfilled.append((role_name(role.needs), reason))
    told: TeamIncompleteFx | TeamAssembledFx | None = None
    if unfilled:
        told = TeamIncompleteFx(tuple(sorted(unfilled)), now)
        team = replace(team, status="incomplete")
    elif team.live and all(_held(state, r) for r in team.live):
        told = TeamAssembledFx(members_of(state, team), now)
        team = replace(team, status="assembled")
    if told is not None:
        team = team.tell(told)
        effects.append(told)
    return Step(replace(state, team=team), tuple(effects))


def retold(state: OpportunityState) -> tuple[Effect, ...]:
    """A repeated input (an opportunity published again, a repeated response): the team events
    published so far, the very same again (a crash may have lost them after the row was stored;
    consumers dedupe on the event ids)."""
    return state.team.retold() if state.team is not None else ()


def members_of(state: OpportunityState, team: TeamState) -> tuple[Member, ...]:
    """The live roles and the partner holding (or offered) each."""
    found: list[Member] = []
    for role in team.live:
        if role.referrals:
            referral = state.referral(role.referrals[-1])
            if referral is not None:
                found.append(_member(role.needs, referral))
    return tuple(found)


# -- helpers --------------------------------------------------------------------------------------


def _offer(
    state: OpportunityState, pick: Pick, now: float, referral_id_of: ReferralIdOf, wave: int
) -> Referral:
    reasons = pick.detail.reasons if isinstance(pick.detail, Candidate) else ()
    return Referral(
        referral_id=referral_id_of(pick.partner_id),
        opportunity_key=state.key,
        partner_id=pick.partner_id,
        status=Status.OFFERED,
        offered_at=now,
        expires_at=now + state.ttl_s,
        updated_at=now,
        score=round(pick.score, 6),
        reasons=reasons,
        rank=1,
        round=wave,
    )


def _member(needs: tuple[str, ...], referral: Referral) -> Member:
    return (needs, referral.partner_id, referral.referral_id)


def _holder(state: OpportunityState, role: RoleState) -> Referral | None:
    """The role's current referral while it is offered or held, else None (declined, expired,
    withdrawn: nobody holds the role)."""
    if not role.referrals:
        return None
    referral = state.referral(role.referrals[-1])
    if referral is None or not (referral.open or referral.status in _HELD):
        return None
    return referral


def _held(state: OpportunityState, role: RoleState) -> bool:
    referral = _holder(state, role)
    return referral is not None and referral.status in _HELD


def _members(state: OpportunityState, team: TeamState) -> list[str]:
    out: list[str] = []
    for role in team.live:
        referral = _holder(state, role)
        if referral is not None:
            out.append(referral.partner_id)
    return out


def _set_role(team: TeamState, old: RoleState, new: RoleState) -> TeamState:
    return replace(team, roles=tuple(new if r is old else r for r in team.roles))


def _why(plan: TeamPlan | NoTeam, replanned: bool) -> str:
    if isinstance(plan, TeamPlan):  # it would need splitting again: the re-plan is used
        return "nobody accepted the role and it was re-planned once already"
    detail = "; ".join(f"{k}: {v}" for k, v in sorted(plan.reasons.items()) if k) or "none"
    prefix = "nobody accepted the role after its re-plan" if replanned else "nobody accepted"
    return f"{prefix}; no eligible partner left ({detail})"[:300]
