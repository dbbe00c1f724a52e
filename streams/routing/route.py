"""``route()``: the eligible partners of an opportunity, ranked and explained, or why there are none.

Pure: the directory, the stats and ``now`` (the event time: certifications are checked against it)
are inputs; nothing is read from a clock, a broker or a disk. The same inputs give the same
decision, in any process.

``route`` finds the partners covering every need in the region through the directory index, shard
by shard from a shard chosen by the opportunity key, and stops after the shard where it has found
``weights.pool`` eligible partners: its cost depends on the pool, not on the directory. With
``pool=0``, or when fewer partners are eligible, it examines every shard and its decision is
identical to ``route_linear``'s, which scans every partner of the directory: the executable
specification, the bench baseline and the property tests' oracle.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from schemas.opportunity import Opportunity
from streams.routing.directory import SHARDS, PartnerDirectory, PartnerEntry
from streams.routing.eligibility import (
    AT_CAPACITY,
    CERTIFICATION,
    COMPETITOR,
    DECLINED_OR_EXPIRED,
    NOT_ACCEPTING,
    NOT_COVERING,
    ORIGINATOR,
    OUTSIDE_CONSENT,
    REFUSED,
    RETAINED_CAPABILITY,
    RULES,
    Context,
    exclusion,
)
from streams.routing.ranking import Candidate, candidate, factors
from streams.routing.stats import NO_STATS, StatsView
from streams.routing.weights import DEFAULT_WEIGHTS, Weights, tiebreak

__all__ = ["RoutingDecision", "route", "route_linear"]


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


_Scored = tuple[float, int, str, PartnerEntry, tuple[float, ...]]


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
    counts = dict.fromkeys(RULES, 0)
    scored: list[_Scored] = []
    covering = 0
    complete = True
    pool = weights.pool
    start = ctx.key_hash % SHARDS
    # Rules that can be applied to a whole shard at once (set operations, in RULES order) are:
    # the certification holders (their expiry is checked one by one), the originator, and the
    # consent scope (then only the partners in it are examined one by one).
    origin_entry = directory.get(ctx.originator)
    scope = None
    if ctx.consent is not None:
        scope = frozenset(e for e in map(directory.get, ctx.consent) if e is not None)
    now_ts = ctx.now_ts
    needs, region = opportunity.needs, opportunity.region
    for shard, found in directory.covering(needs, region, start=start, nonempty=True):
        covering += len(found)
        partners: Collection[PartnerEntry] = found
        if ctx.required and partners:
            for bit, vendor in ctx.required:
                holders = directory.certified_in(bit, vendor, shard)
                partners = set(holders).intersection(partners) if holders else ()
            valid = [e for e in partners if all(e.certified(b, now_ts, v) for b, v in ctx.required)]
            counts[CERTIFICATION] += len(found) - len(valid)
            partners = valid
        if origin_entry is not None and origin_entry in partners:
            counts[ORIGINATOR] += 1
            partners = [e for e in partners if e is not origin_entry]
        if scope is not None:
            inside = scope.intersection(partners)
            counts[OUTSIDE_CONSENT] += len(partners) - len(inside)
            partners = inside
        _examine_all(partners, ctx, counts, scored)
        if pool and len(scored) >= pool:
            complete = shard == (start - 1) % SHARDS  # stopped at the last shard anyway
            break
    if not scored:  # unroutable: also count who offers only some of the needs
        counts[NOT_COVERING] = directory.partially_covering(
            opportunity.needs, opportunity.region, covering=covering
        )
    return _decide(ctx, scored, counts, covering, complete=complete)


def route_linear(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    stats: StatsView = NO_STATS,
    *,
    now: datetime,
    exclude: Collection[str] = frozenset(),
    weights: Weights = DEFAULT_WEIGHTS,
) -> RoutingDecision:
    """The decision of :func:`route` with ``pool=0``, by checking every partner of the directory."""
    ctx = _context(opportunity, directory, stats, now, exclude, weights)
    counts = dict.fromkeys(RULES, 0)
    scored: list[_Scored] = []
    covering = 0
    for entry in directory:
        covers = ctx.covers(entry)
        if covers:
            covering += 1
            _examine(entry, ctx, counts, scored)
        elif covers is None:
            counts[NOT_COVERING] += 1
    if scored:
        counts[NOT_COVERING] = 0  # counted only when it explains an unroutable opportunity
    return _decide(ctx, scored, counts, covering, complete=True)


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


def _examine(
    entry: PartnerEntry, ctx: Context, counts: dict[str, int], scored: list[_Scored]
) -> None:
    rule = exclusion(entry, ctx)
    if rule is not None:
        counts[rule] += 1
        return
    score, values = factors(entry, ctx, ctx.stats.partner(entry.partner_id))
    scored.append((-score, tiebreak(ctx.key_hash, entry.id_hash), entry.partner_id, entry, values))


def _examine_all(
    partners: Collection[PartnerEntry],
    ctx: Context,
    counts: dict[str, int],
    scored: list[_Scored],
) -> None:
    """:func:`_examine` for many partners, with :func:`exclusion` written out: the hot loop.

    The partners are already certified, not the originator and inside the consent scope (the
    rules :func:`route` applies to a whole shard). ``route_linear`` calls :func:`exclusion` itself
    and the property tests assert that both decide the same, so this copy cannot drift.
    """
    origin, exclude, retained = ctx.originator, ctx.exclude, ctx.retained_mask
    origin_competitors, origin_refuses = ctx.originator_competitors, ctx.originator_refuses
    partner_stats, key_hash = ctx.stats.partner, ctx.key_hash
    for entry in partners:
        pid = entry.partner_id
        if pid in exclude:
            counts[DECLINED_OR_EXPIRED] += 1
        elif not entry.accepting:
            counts[NOT_ACCEPTING] += 1
        elif entry.caps & retained:
            counts[RETAINED_CAPABILITY] += 1
        elif pid in origin_competitors or origin in entry.competitors:
            counts[COMPETITOR] += 1
        elif pid in origin_refuses or origin in entry.refuses:
            counts[REFUSED] += 1
        else:
            stats = partner_stats(pid)
            if stats.open_offers >= entry.capacity:
                counts[AT_CAPACITY] += 1
                continue
            score, values = factors(entry, ctx, stats)
            scored.append((-score, tiebreak(key_hash, entry.id_hash), pid, entry, values))


def _decide(
    ctx: Context, scored: list[_Scored], counts: dict[str, int], covering: int, *, complete: bool
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
        eligible=len(scored),
        covering=covering,
        exclusions=MappingProxyType(counts),
        complete=complete,
    )
