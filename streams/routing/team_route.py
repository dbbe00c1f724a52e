"""A team for an opportunity: the team planner over ``route()`` (pure).

Each role is routed as an opportunity of its own: its needs, the certifications required for
them, and as *retained* capabilities the originator's own plus every other role's needs — so a
member that offers another member's role is not eligible for its own (DESIGN.md "Teaming").
Every other rule (region, consent, capacity, declines, competitors and refusals of the
originator) is route()'s. Two members are compatible when neither lists the other as competitor
or refused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime

from schemas.opportunity import Opportunity
from streams.routing.directory import PartnerDirectory
from streams.routing.route import RoutingDecision, route
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.team import NoTeam, Pick, RoleList, TeamPlan, plan_team
from streams.routing.weights import DEFAULT_WEIGHTS, Weights

__all__ = ["TEAM_DEPTH", "plan_opportunity_team"]

# Candidates ranked (and explained) per role at first: the planner asks for more only when an
# unseen one could still change the team (exact either way). Measured at 100k partners (bench
# routing, teams no single partner covers): 32 took 5.5 ms CPU p50, 4 took 3.6 ms (7 roles
# routed per plan either way; the explanations are the difference).
TEAM_DEPTH = 4


def plan_opportunity_team(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView = NO_STATS,
    *,
    now: datetime,
    exclude: Collection[str] = frozenset(),
    weights: Weights = DEFAULT_WEIGHTS,
    depth: int = TEAM_DEPTH,
    needs: Sequence[str] | None = None,
    members: Collection[str] = frozenset(),
    partners: Collection[str] = frozenset(),
    router: Callable[..., RoutingDecision] = route,
) -> TeamPlan | NoTeam:
    """The smallest, best team for ``opportunity`` (see :mod:`streams.routing.team`).

        ``needs``: plan only these (a role nobody accepted, re-planned), the opportunity's other needs
        being the roles of ``members`` (kept): every new member must suit each kept one, and offer
        none of the other needs. ``partners``: the originator's active partners (the partnership
    factor, as for ``route``). ``router``: ``route`` (or ``route_linear``, the bench's baseline).
    """
    kept = _retained(opportunity, directory)
    planned = tuple(opportunity.needs if needs is None else needs)
    held = set(opportunity.needs) - set(planned)  # the kept members' roles
    exclude = frozenset(exclude) | frozenset(members)

    def rank_role(role: tuple[str, ...], others: tuple[str, ...], want: int) -> RoleList:
        role_opportunity = opportunity.model_copy(
            update={
                "needs": role,
                "retains": tuple(sorted(kept | set(others) | held)),
                "requires_certification": tuple(
                    r for r in opportunity.requires_certification if r.capability in role
                ),
            }
        )
        while True:
            decision = router(
                role_opportunity,
                directory,
                stats,
                now=now,
                exclude=exclude,
                weights=replace(weights, max_ranked=want),
                partners=partners,
            )
            # partners not examined (an incomplete scan) may be eligible too
            more = decision.eligible > len(decision.candidates) or not decision.complete
            picks = tuple(
                Pick(c.partner_id, c.score, c)
                for c in decision.candidates
                if all(compatible(c.partner_id, m) for m in members)
            )
            if len(picks) == len(decision.candidates) or picks or not more:
                return RoleList(picks, more=more)
            want *= 2  # every one seen clashes with a kept member: look further

    def compatible(a: str, b: str) -> bool:
        first, second = directory.get(a), directory.get(b)
        if first is None or second is None:
            return False
        named = first.competitors | first.refuses
        return b not in named and a not in (second.competitors | second.refuses)

    return plan_team(planned, rank_role, compatible, depth=depth)


def _retained(opportunity: Opportunity, directory: PartnerDirectory) -> set[str]:
    """What the originator keeps on this deal: as given, else all it offers but the needs."""
    if opportunity.retains is not None:
        return set(opportunity.retains)
    origin = directory.get(opportunity.originator)
    if origin is None:
        return set()
    return directory.capability_codes(origin.caps) - set(opportunity.needs)
