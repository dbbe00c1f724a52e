"""``route()``: the eligible partners of an opportunity, ranked and explained, or why there are none.

Pure: the directory, the stats and ``now`` (the event time: certifications are checked against it)
are inputs; nothing is read from a clock, a broker or a disk. The same inputs give the same
decision, in any process.

``route`` ranks exactly: its candidates are those of ``route_linear`` (which scans every partner of
the directory with :func:`exclusion` and :func:`factors`: the executable specification, the bench
baseline and the property tests' oracle), in the same order, with the same scores. It reads the
directory's columnar index tier by tier (:mod:`streams.routing.scan`) and stops once no partner
left can enter the ``max_ranked`` best; the exclusion counts, ``eligible`` and ``covering`` are
then those of the partners examined (``complete=False``). Nobody eligible, or ``max_ranked=0``:
everybody covering is examined and the whole decision equals ``route_linear``'s. An opportunity
with a consent scope (``share_with``, up to :data:`CONSENT_DIRECT` partners) is decided over the
partners of the scope only (``complete=False``) unless none of them is eligible.
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
from streams.routing.ranking import Candidate, candidate, factors
from streams.routing.scan import Scored, scan
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.weights import DEFAULT_WEIGHTS, Weights, tiebreak

__all__ = ["CONSENT_DIRECT", "RoutingDecision", "route", "route_linear"]

CONSENT_DIRECT = 256  # a consent scope up to this size is examined partner by partner


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The outcome of routing one opportunity.

    ``candidates``: the best ``weights.max_ranked`` eligible partners, best first (the waterfall).
    ``eligible``: how many eligible partners were found (may exceed ``len(candidates)``).
    ``covering``: partners examined that offer every need in the region.
    ``exclusions``: for every rule of :data:`RULES`, how many examined partners it excluded;
    ``not_covering`` (partners offering only some of the needs in the region) is counted only
    when nobody is eligible, as it explains an unroutable opportunity (0 otherwise).
    ``complete``: the whole directory was examined (always when nobody is eligible): the counts
    are then those of the whole directory, else of the shards examined.
    """

    opportunity_key: str
    candidates: tuple[Candidate, ...]
    eligible: int
    covering: int
    exclusions: Mapping[str, int]
    complete: bool = True

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
    partners: Collection[str] = frozenset(),
) -> RoutingDecision:
    """Rank the eligible partners of ``opportunity`` (see the module and DESIGN.md rules).

    ``exclude``: partners that already declined or let expire an offer of this opportunity.
    ``now``: the event time certifications are valid at (e.g. the opportunity's ``published_at``).
    ``partners``: the partners the originator has an active partnership with (the
    ``partnership`` factor; it makes nobody eligible).
    """
    ctx = _context(opportunity, directory, stats, now, exclude, weights, partners)
    if ctx.consent is not None and weights.max_ranked and len(ctx.consent) <= CONSENT_DIRECT:
        # a consent scope names the only partners that may be offered: examine those (the
        # others covering the needs are not counted)
        scope = [e for e in map(directory.get, sorted(ctx.consent)) if e is not None]
        decision = _examine_each(scope, ctx, complete=False)
        if decision.routable:  # else the scan below counts who is outside the scope
            return decision
    tiered = directory.sync_stats(stats, weights)
    found = scan(opportunity, directory, ctx, tiered=tiered)
    counts = found.counts
    if not found.scored:  # unroutable: also count who offers only some of the needs
        counts[NOT_COVERING] = directory.partially_covering(
            opportunity.needs, opportunity.region, covering=found.covering
        )
    return _decide(
        ctx, found.scored, counts, found.covering, eligible=found.eligible, complete=found.complete
    )


def route_linear(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView = NO_STATS,
    *,
    now: datetime,
    exclude: Collection[str] = frozenset(),
    weights: Weights = DEFAULT_WEIGHTS,
    partners: Collection[str] = frozenset(),
) -> RoutingDecision:
    """The decision of :func:`route` with ``max_ranked=0``, by checking every partner of the
    directory one by one."""
    ctx = _context(opportunity, directory, stats, now, exclude, weights, partners)
    return _examine_each(directory, ctx, complete=True)


def _examine_each(
    entries: Iterable[PartnerEntry], ctx: Context, *, complete: bool
) -> RoutingDecision:
    counts = dict.fromkeys(RULES, 0)
    scored: list[Scored] = []
    covering = 0
    for entry in entries:
        covers = ctx.covers(entry)
        if covers:
            covering += 1
            _examine(entry, ctx, counts, scored)
        elif covers is None:
            counts[NOT_COVERING] += 1
    if scored:
        counts[NOT_COVERING] = 0  # counted only when it explains an unroutable opportunity
    return _decide(ctx, scored, counts, covering, eligible=len(scored), complete=complete)


def _context(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView,
    now: datetime,
    exclude: Collection[str],
    weights: Weights,
    partners: Collection[str],
) -> Context:
    return Context.build(
        opportunity,
        directory,
        stats,
        now_ts=now.timestamp(),
        exclude=exclude if isinstance(exclude, frozenset) else frozenset(exclude),
        weights=weights,
        partners=partners if isinstance(partners, frozenset) else frozenset(partners),
    )


def _examine(
    entry: PartnerEntry, ctx: Context, counts: dict[str, int], scored: list[Scored]
) -> None:
    rule = exclusion(entry, ctx)
    if rule is not None:
        counts[rule] += 1
        return
    score, values = factors(entry, ctx, ctx.stats.partner(entry.partner_id))
    scored.append((-score, tiebreak(ctx.key_hash, entry.id_hash), entry.partner_id, entry, values))


def _decide(
    ctx: Context,
    scored: list[Scored],
    counts: dict[str, int],
    covering: int,
    *,
    eligible: int,
    complete: bool,
) -> RoutingDecision:
    k = ctx.weights.max_ranked
    best = heapq.nsmallest(k, scored) if k and len(scored) > k else sorted(scored)
    candidates = tuple(
        candidate(pid, rank, round(-neg, 6), entry, ctx, values)
        for rank, (neg, _tb, pid, entry, values) in enumerate(best, start=1)
    )
    return RoutingDecision(
        opportunity_key=ctx.key,
        candidates=candidates,
        eligible=eligible,
        covering=covering,
        exclusions=MappingProxyType(counts),
        complete=complete,
    )
