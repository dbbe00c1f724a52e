"""The router's ranker: the routing core's ``route()`` over the live directory and stats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from schemas.events import Opportunity
from streams.offers.lifecycle import Candidate
from streams.policy import ranked_weights
from streams.router.handlers import Ranker, Ranking
from streams.routing.directory import PartnerDirectory
from streams.routing.route import route, route_linear
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.weights import DEFAULT_WEIGHTS, Weights

__all__ = ["LINEAR_MAX", "make_ranker", "partners_only_scope"]

# Up to this many partners the directory is ranked by checking each partner (``route_linear``:
# the same candidates, order and scores as the tiered index, and complete exclusion counts). The
# index's fixed cost per call (~0.3 ms of numpy set-up) outweighs a scan of a small directory;
# measured with the pipeline bench's partner mix (most partners covering the need): 40 partners
# 180 us linear against 650 us indexed, about even at 200, linear 4x slower at 1,000.
LINEAR_MAX = 160


def partners_only_scope(
    opp: Opportunity, partners_of: Callable[[str], frozenset[str]]
) -> Opportunity:
    """``opp`` with its consent scope narrowed to the originator's active partners, when it is
    ``partners_only`` (nobody outside that scope is eligible: ``outside_consent``)."""
    if not opp.partners_only:
        return opp
    allowed = partners_of(opp.originator)
    if opp.share_with is not None:
        allowed = allowed & frozenset(opp.share_with)
    return opp.model_copy(update={"share_with": tuple(sorted(allowed))})


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
    partnership with, the only ones a ``partners_only`` opportunity may be offered (its consent
    scope, within ``share_with`` when that is given too). A directory of at most ``linear_max``
    partners is ranked by ``route_linear`` (exact, and cheaper there: see :data:`LINEAR_MAX`).
    """

    def rank(opp: Opportunity, exclude: frozenset[str], now: float) -> Ranking:
        opp = partners_only_scope(opp, partners_of)
        partners = directory()
        decision = (route_linear if len(partners) <= linear_max else route)(
            opp,
            partners,
            stats(),
            now=datetime.fromtimestamp(now, UTC),
            exclude=exclude,
            weights=ranked_weights(weights(), opp.max_partners),
        )
        candidates = [
            Candidate(
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
            for c in decision.candidates
        ]
        excluded = {rule: n for rule, n in decision.exclusions.items() if n}
        return Ranking(candidates, excluded, decision.covering)

    return rank
