"""``route()``: the eligible partners of an opportunity, ranked and explained, or why there are none.

Pure: the directory, the stats and ``now`` (the event time: certifications are checked against it)
are inputs; nothing is read from a clock, a broker or a disk. The same inputs give the same
decision, in any process.

``route`` finds the partners covering every need in the region through the directory index (cost in
proportion to them, not to the directory); ``route_linear`` does the same by scanning every partner.
Both give identical decisions: the linear one is the executable specification, the bench baseline
and the property tests' oracle.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from schemas.opportunity import Opportunity
from streams.routing.directory import PartnerDirectory, PartnerEntry
from streams.routing.eligibility import NOT_COVERING, RULES, Context, exclusion
from streams.routing.ranking import Candidate, explain, factors, weighted_score
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.weights import DEFAULT_WEIGHTS, Weights, tiebreak

__all__ = ["RoutingDecision", "route", "route_linear"]


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The outcome of routing one opportunity.

    ``candidates``: the best ``weights.max_ranked`` eligible partners, best first (the waterfall).
    ``eligible``: how many partners are eligible in all (may exceed ``len(candidates)``).
    ``covering``: partners offering every need in the region, before the other rules.
    ``exclusions``: for every rule of :data:`RULES`, how many partners it excluded
    (``not_covering`` counts partners offering only some of the needs in the region).
    """

    opportunity_key: str
    candidates: tuple[Candidate, ...]
    eligible: int
    covering: int
    exclusions: Mapping[str, int]

    @property
    def routable(self) -> bool:
        return bool(self.candidates)

    @property
    def partner_ids(self) -> tuple[str, ...]:
        return tuple(c.partner_id for c in self.candidates)

    def unroutable_reasons(self) -> dict[str, int]:
        """The rules that excluded somebody (count > 0), most first; empty when routable.

        ``{"no_partner": 0}`` alone means nobody offers even one need in the region.
        """
        if self.routable:
            return {}
        hits = sorted(
            ((rule, n) for rule, n in self.exclusions.items() if n), key=lambda item: -item[1]
        )
        return dict(hits) if hits else {"no_partner": 0}


def route(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView = NO_STATS,
    *,
    now: datetime,
    exclude: Collection[str] = frozenset(),
    weights: Weights = DEFAULT_WEIGHTS,
) -> RoutingDecision:
    """Rank the eligible partners of ``opportunity`` (see the module and DESIGN.md rules).

    ``exclude``: partners that already declined or let expire an offer of this opportunity.
    ``now``: the event time certifications are valid at (e.g. the opportunity's ``published_at``).
    """
    ctx = _context(opportunity, directory, stats, now, exclude, weights)
    slots, partial = directory.covering(opportunity.needs, opportunity.region)
    entry_at = directory.entry_at
    return _decide(ctx, (entry_at(s) for s in slots), len(slots), partial)


def route_linear(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView = NO_STATS,
    *,
    now: datetime,
    exclude: Collection[str] = frozenset(),
    weights: Weights = DEFAULT_WEIGHTS,
) -> RoutingDecision:
    """The same decision as :func:`route`, by checking every partner of the directory."""
    ctx = _context(opportunity, directory, stats, now, exclude, weights)
    covering: list[PartnerEntry] = []
    partial = 0
    for entry in directory:
        covers = ctx.covers(entry)
        if covers:
            covering.append(entry)
        elif covers is None:
            partial += 1
    return _decide(ctx, covering, len(covering), partial)


def _context(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView,
    now: datetime,
    exclude: Collection[str],
    weights: Weights,
) -> Context:
    return Context.build(
        opportunity,
        directory,
        stats,
        now_ts=now.timestamp(),
        exclude=exclude if isinstance(exclude, frozenset) else frozenset(exclude),
        weights=weights,
    )


def _decide(
    ctx: Context, covering: Iterable[PartnerEntry], n_covering: int, partial: int
) -> RoutingDecision:
    counts = dict.fromkeys(RULES, 0)
    counts[NOT_COVERING] = partial
    w = ctx.weights
    key_hash = ctx.key_hash
    scored: list[tuple[float, int, str, PartnerEntry, tuple[float, ...]]] = []
    for entry in covering:
        rule = exclusion(entry, ctx)
        if rule is not None:
            counts[rule] += 1
            continue
        values = factors(entry, ctx)
        scored.append(
            (
                -weighted_score(values, w),
                tiebreak(key_hash, entry.id_hash),
                entry.partner_id,
                entry,
                values,
            )
        )
    if w.max_ranked and len(scored) > w.max_ranked:
        best = heapq.nsmallest(w.max_ranked, scored)
    else:
        best = sorted(scored)
    candidates = tuple(
        Candidate(pid, rank, round(-neg, 6), explain(entry, ctx, values))
        for rank, (neg, _tb, pid, entry, values) in enumerate(best, start=1)
    )
    return RoutingDecision(
        opportunity_key=ctx.key,
        candidates=candidates,
        eligible=len(scored),
        covering=n_covering,
        exclusions=MappingProxyType(counts),
    )
