"""The router's ranker: the routing core's ``route()`` over the live directory and stats."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime

from schemas.events import Opportunity
from streams.offers.lifecycle import Candidate
from streams.partnerships.scope import partners_only_scope
from streams.policy import ranked_weights
from streams.router.handlers import Ranker, Ranking, TeamPlanner
from streams.routing import ranking as routing_ranking
from streams.routing.directory import PartnerDirectory
from streams.routing.route import route, route_linear
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.team import NoTeam, Pick, Role, TeamPlan
from streams.routing.team_route import plan_opportunity_team
from streams.routing.weights import DEFAULT_WEIGHTS, Weights

__all__ = ["LINEAR_MAX", "make_ranker", "make_team_planner", "partners_only_scope"]

# Up to this many partners the directory is ranked by checking each partner (``route_linear``:
# the same candidates, order and scores as the tiered index, and complete exclusion counts). The
# index's fixed cost per call (~0.3 ms of numpy set-up) outweighs a scan of a small directory;
# measured with the pipeline bench's partner mix (most partners covering the need): 40 partners
# 180 us linear against 650 us indexed, about even at 200, linear 4x slower at 1,000.
LINEAR_MAX = 160


def make_ranker(
    directory: Callable[[], PartnerDirectory],
    stats: Callable[[], StatsView] = lambda: NO_STATS,
    weights: Callable[[], Weights] = lambda: DEFAULT_WEIGHTS,
    partners_of: Callable[[str], frozenset[str]] = lambda _: frozenset(),
    *,
    linear_max: int = LINEAR_MAX,
) -> Ranker:
    """A ranker reading the current directory, stats and policy weights at every call.

    Only ``max_partners`` candidates are ranked and explained: a re-offer ranks afresh (current
    load, capacity and profiles, the partners already tried left out), so a longer list would be
    computed and thrown away. ``partners_of``: the partners the originator has an active
    partnership with, read at every ranking: the ``partnership`` factor of the ranking, and the
    only ones a ``partners_only`` opportunity may be offered (its consent scope, within
    ``share_with`` when that is given too). A directory of at most ``linear_max`` partners is
    ranked by ``route_linear`` (exact, and cheaper there: see :data:`LINEAR_MAX`).
    """

    def rank(opp: Opportunity, exclude: frozenset[str], now: float) -> Ranking:
        partners = partners_of(opp.originator)
        opp = partners_only_scope(opp, lambda _originator: partners)
        known = directory()
        decision = (route_linear if len(known) <= linear_max else route)(
            opp,
            known,
            stats(),
            now=datetime.fromtimestamp(now, UTC),
            exclude=exclude,
            weights=ranked_weights(weights(), opp.max_partners),
            partners=partners,
        )
        candidates = [_explained(c) for c in decision.candidates]
        excluded = {rule: n for rule, n in decision.exclusions.items() if n}
        return Ranking(candidates, excluded, decision.covering)

    return rank


def _explained(c: routing_ranking.Candidate) -> Candidate:
    """A routing candidate as the offer lifecycle keeps it: score and JSON-ready reasons."""
    return Candidate(
        c.partner_id,
        round(c.score, 6),
        tuple(
            {
                "factor": r.factor,
                "points": round(r.value * r.weight, 6),
                "detail": r.detail[:300],
                "value": r.value,
                "weight": r.weight,
                "contribution": r.contribution,
            }
            for r in c.reasons
        ),
    )


def make_team_planner(
    directory: Callable[[], PartnerDirectory],
    stats: Callable[[], StatsView] = lambda: NO_STATS,
    weights: Callable[[], Weights] = lambda: DEFAULT_WEIGHTS,
    partners_of: Callable[[str], frozenset[str]] = lambda _: frozenset(),
    *,
    linear_max: int = LINEAR_MAX,
) -> TeamPlanner:
    """The router's team planner: ``plan_opportunity_team`` over the current directory, stats
    and policy weights; each planned member's ``detail`` is its explained offer candidate."""

    def plan(
        opp: Opportunity,
        needs: tuple[str, ...] | None,
        members: Collection[str],
        exclude: frozenset[str],
        now: float,
    ) -> TeamPlan | NoTeam:
        partners = partners_of(opp.originator)
        opp = partners_only_scope(opp, lambda _originator: partners)
        known = directory()
        found = plan_opportunity_team(
            opp,
            known,
            stats(),
            now=datetime.fromtimestamp(now, UTC),
            exclude=exclude,
            weights=weights(),
            needs=needs,
            members=members,
            partners=partners,
            router=route_linear if len(known) <= linear_max else route,
        )
        if isinstance(found, NoTeam):
            return found
        return replace(found, roles=tuple(_role(r) for r in found.roles))

    return plan


def _role(role: Role) -> Role:
    def pick(p: Pick) -> Pick:
        detail = p.detail
        if isinstance(detail, routing_ranking.Candidate):
            detail = _explained(detail)
        return Pick(p.partner_id, p.score, detail)

    return Role(role.needs, pick(role.member), tuple(pick(p) for p in role.waterfall))
