"""The router's ranker: the routing core's ``route()`` over the live directory and stats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache

from schemas.events import Opportunity
from streams.offers.lifecycle import Candidate
from streams.router.handlers import Ranker, Ranking
from streams.routing.directory import PartnerDirectory
from streams.routing.route import route
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.weights import DEFAULT_WEIGHTS, Weights

__all__ = ["make_ranker"]


@lru_cache(maxsize=16)
def _weights(slots: int) -> Weights:
    return replace(DEFAULT_WEIGHTS, max_ranked=slots)


def make_ranker(
    directory: Callable[[], PartnerDirectory],
    stats: Callable[[], StatsView] = lambda: NO_STATS,
) -> Ranker:
    """A ranker reading the current directory and stats at every call.

    Only ``max_partners`` candidates are ranked and explained: a re-offer ranks afresh (current
    load, capacity and profiles, the partners already tried left out), so a longer list would be
    computed and thrown away.
    """

    def rank(opp: Opportunity, exclude: frozenset[str], now: float) -> Ranking:
        decision = route(
            opp,
            directory(),
            stats(),
            now=datetime.fromtimestamp(now, UTC),
            exclude=exclude,
            weights=_weights(opp.max_partners),
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
                    }
                    for r in c.reasons
                ),
            )
            for c in decision.candidates
        ]
        excluded = {rule: n for rule, n in decision.exclusions.items() if n}
        return Ranking(candidates, excluded, decision.covering)

    return rank
