"""The exact ranking of :func:`streams.routing.route`: numpy over the directory's tiered columns.

The partners offering the opportunity's first (smallest) need in its region and country are read
tier by tier, highest stats bound first (:mod:`streams.routing.columns`). For each tier the rules
of :mod:`streams.routing.eligibility` are vectorised masks, applied in :data:`RULES` order (each
excluded partner counted under the first rule that excludes it), and the scores of the eligible
ones are computed with the arithmetic of :func:`streams.routing.ranking.factors`, in the same
order, so the floats are the same. The scan stops when it holds ``max_ranked`` eligible partners
and the k-th best score beats the best score any partner of the tiers left could reach (every
factor that does not depend on the stats at 1, the tier's stats bound, and the best reciprocity
any partner has with the originator): the ranking is the one of a full scan, at the cost of the
few best tiers. The returned partners are then scored again one by one by ``factors`` for their
explanation (the same values).

Reciprocity differs from its neutral 0.5 only for the originator's *peers* (partners with a
referral either way), which a stats view lists with ``peers(partner_id)``; without it every
eligible partner's reciprocity is computed one by one and the bound takes reciprocity at 1.

The partnership factor is 1 only for the originator's active partners (``ctx.partners``, a few):
those the sources hold are examined first, whatever their tier, and skipped in the tiers, so the
bound of the tiers left takes partnership at 0 and no partner is missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schemas.opportunity import Opportunity
from streams.routing.columns import PENDING
from streams.routing.directory import PartnerDirectory, PartnerEntry
from streams.routing.eligibility import (
    AT_CAPACITY,
    CERTIFICATION,
    COMPETITOR,
    DECLINED_OR_EXPIRED,
    NOT_ACCEPTING,
    ORIGINATOR,
    OUTSIDE_CONSENT,
    REFUSED,
    RETAINED_CAPABILITY,
    RULES,
    Context,
)
from streams.routing.ranking import certification_value
from streams.routing.stats import stats_factors
from streams.routing.weights import TIEBREAK_MIX, tiebreak

__all__ = ["Scan", "Scored", "scan"]

Scored = tuple[float, int, str, PartnerEntry, tuple[float, ...]]

_ORIGIN, _DECLINED, _COMPETITOR, _REFUSED = 1, 2, 4, 8
_INSIDE, _CERTIFIED, _DUAL, _PEER = 16, 32, 64, 128
_PARTNER = 256
_LOW = (1 << 63) - 1
_FLAG = np.uint64(1 << 63)
_MIX = np.uint64(TIEBREAK_MIX)
_SLACK = 1e-9  # above any rounding of the score's sum
FIRST_BATCH = 512  # partners examined at least at once (then twice as many each time)


@dataclass(slots=True)
class Scan:
    """What the scan found: the best ``max_ranked`` eligible partners (all when 0), sorted."""

    scored: list[Scored]
    eligible: int = 0
    covering: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    complete: bool = True


def scan(
    opportunity: Opportunity, directory: PartnerDirectory, ctx: Context, *, tiered: bool = True
) -> Scan:
    """Rank the eligible partners of ``opportunity`` (``directory`` synced with ``ctx.stats``).

    ``tiered``: the directory's tiers were computed under ``ctx.weights``; else every tier is
    read (no bound applies) and the stats factors are computed from the stats columns."""
    result = Scan([])
    if not ctx.need_mask:  # a need nobody offers: nobody covers
        return result
    marks = _Marks(directory)
    try:
        found = _Scanner(
            opportunity, directory, ctx, marks, result, holders=True, tiered=tiered
        ).run()
        if found.scored or found.complete:
            return found
        # nobody eligible among the holders: the whole story (every rule's count) takes a scan
        # of every partner covering the needs
        full = _Scanner(opportunity, directory, ctx, marks, Scan([]), holders=False, tiered=tiered)
        return full.run()
    finally:
        marks.clear()


class _Marks:
    """Flags of the few partners named by the opportunity, in the directory's scratch column."""

    def __init__(self, directory: PartnerDirectory) -> None:
        self.column = directory.columns.marks
        self.directory = directory
        self.touched: list[Any] = []

    def ids(self, partner_ids: Any, flag: int) -> None:
        slots = [e.slot for e in map(self.directory.get, partner_ids) if e is not None]
        if slots:
            self.slots(np.fromiter(slots, np.int64, len(slots)), flag)

    def slots(self, slots: Any, flag: int) -> None:
        if len(slots):
            self.column[slots] |= np.uint16(flag)
            self.touched.append(slots)

    def clear(self) -> None:
        for slots in self.touched:
            self.column[slots] = 0


class _Scanner:
    def __init__(
        self,
        opportunity: Opportunity,
        directory: PartnerDirectory,
        ctx: Context,
        marks: _Marks,
        result: Scan,
        *,
        holders: bool,
        tiered: bool,
    ) -> None:
        self.d, self.ctx, self.result, self.marks = directory, ctx, result, marks
        self.cols = directory.columns
        self.tiered = tiered
        w = ctx.weights
        self.k = w.max_ranked
        needs = tuple(dict.fromkeys(opportunity.needs))
        region = opportunity.region
        places = [(region, False)] + ([(region[:2], True)] if len(region) > 2 else [])
        best: list[tuple[Any, bool]] = []
        size = -1
        # read the need with the fewest partners and filter by the others; with a required
        # certification, read the holders of the first one (a few percent of the partners)
        self.by_holders = (
            holders and self.k > 0 and bool(ctx.required) and all(b for b, _v in ctx.required)
        )
        lists: list[tuple[int, str | None]] = [(directory.cap_bit_index(n), None) for n in needs]
        if self.by_holders:
            first_bit, first_vendor = ctx.required[0]
            lists = [(first_bit.bit_length() - 1, first_vendor)]
        for bit, vendor in lists:
            found = [
                (t, country) for r, country in places if (t := directory.postings(bit, r, vendor))
            ]
            total = sum(rows.n for t, _c in found for rows in t if rows is not None)
            if size < 0 or total < size:
                best, size = found, total
        # what the tiers' bound leaves out: region and industry (fit and certification too for
        # more than one need), at their best for the partners of each source
        static = w.industry + (w.fit + w.certification if len(needs) > 1 else 0.0)
        self.sources = [
            (tiers, country, static + w.region * (w.country_region if country else 1.0))
            for tiers, country in best
        ]
        self.multi = len(needs) > 1 or self.by_holders
        self.need_low = np.uint64(ctx.need_mask & _LOW)
        self.wide_needs = ctx.need_mask > _LOW
        self.retained_low = np.uint64(ctx.retained_mask & _LOW)
        self.industry_low = np.uint64(ctx.industry_mask & _LOW)
        self.key_hash = np.uint64(ctx.key_hash)
        self.parts: list[tuple[Any, Any, Any, Any]] = []  # scores, tie-breaks, slots, country
        self.held = 0
        self.origin = directory.get(ctx.originator)
        self._mark(region)

    def _mark(self, region: str) -> None:
        ctx, marks, d = self.ctx, self.marks, self.d
        if self.origin is not None:
            marks.slots(np.array([self.origin.slot]), _ORIGIN)
        marks.ids(ctx.exclude, _DECLINED)
        competitors, refusers = d.naming(ctx.originator)
        marks.ids(ctx.originator_competitors | competitors, _COMPETITOR)
        marks.ids(ctx.originator_refuses | refusers, _REFUSED)
        self.naming = bool(ctx.originator_competitors or competitors)
        self.refusing = bool(ctx.originator_refuses or refusers)
        if ctx.consent is not None:
            marks.ids(ctx.consent, _INSIDE)
        if ctx.required:
            valid: Any = None
            for bit, vendor in ctx.required:
                slots, expiry = d.holders(bit, vendor)
                ok = slots[expiry > ctx.now_ts] if bit else slots[:0]
                valid = ok if valid is None else np.intersect1d(valid, ok)
            marks.slots(valid, _CERTIFIED)
        if len(region) > 2:
            dual = d.dual(region)
            marks.slots(np.fromiter(dual, np.int64, len(dual)), _DUAL)
        peers = getattr(ctx.stats, "peers", None)
        self.every_reciprocity = peers is None
        self.best_reciprocity = 1.0 if peers is None else 0.5
        if peers is not None:
            mine = peers(ctx.originator)
            marks.ids(mine, _PEER)
            for pid in mine:
                self.best_reciprocity = max(self.best_reciprocity, self._reciprocity(pid))
        partners = [e for e in map(d.get, sorted(ctx.partners)) if e is not None]
        self.partnered = bool(partners)
        if partners:
            marks.slots(np.fromiter((e.slot for e in partners), np.int64, len(partners)), _PARTNER)
        held = [e for e in partners if self._in_sources(e)]
        self.partner_rows = (
            np.fromiter((e.slot for e in held), np.int64, len(held)),
            np.fromiter((not e.regions & ctx.region_bit for e in held), bool, len(held)),
        )

    def _in_sources(self, entry: PartnerEntry) -> bool:
        """Whether the posting lists the scan reads hold this partner (region or country)."""
        if not self.ctx.covers(entry):
            return False
        if not self.by_holders:
            return True
        bit, vendor = self.ctx.required[0]
        return any(b == bit and v == vendor for b, v, _x in entry.certs)

    def _reciprocity(self, pid: str) -> float:
        given, origin = self.ctx.stats.given, self.ctx.originator
        received, sent = given(pid, origin), given(origin, pid)
        return (received + 1) / (received + sent + 2)

    def run(self) -> Scan:
        if self.by_holders:  # the other partners covering the needs are not counted
            self.result.complete = False
        return self._run()

    def _run(self) -> Scan:
        """Examine tiers, best first, in batches of growing size (a numpy call costs the same
        for 10 partners as for 1000); stop reading a source (the region's partners, or its
        country's) when its partners left cannot enter the k best."""
        w, result = self.ctx.weights, self.result
        width = self.d.tier_width
        active = list(self.sources)
        parts: list[tuple[Any, Any, bool]] = []
        size, target = 0, max(FIRST_BATCH, 8 * self.k)
        if len(self.partner_rows[0]):  # the originator's partners first (see the module doc)
            self._examine(*self.partner_rows, partners=True)
        for tier in range(PENDING, -1, -1):
            for tiers, country, _static in active:
                rows = tiers[tier]
                if rows is not None and rows.n > rows.dead:
                    parts.append((rows.slot[: rows.n], rows.gen[: rows.n], country))
                    size += rows.n
            if tier and size < target:
                continue
            if parts:
                self._examine(*self._alive(parts))
                parts.clear()
            size, target = 0, target * 2
            if tier and self.k and self.held >= self.k and self.tiered:
                kth = self._keep_best()
                left = w.reciprocity * self.best_reciprocity + tier * width
                going = [s for s in active if kth <= (s[2] + left) / w.total + _SLACK]
                if len(going) < len(active):  # the tiers left of a source are not examined
                    result.complete = False
                    active = going
                if not active:
                    break
        return self._finish()

    def _alive(self, parts: list[tuple[Any, Any, bool]]) -> tuple[Any, Any]:
        """The live rows' slots, and whether each was found through the country."""
        if len(parts) == 1:
            slots, gens, country = parts[0]
            alive = self.cols.gen[slots] == gens
            return slots[alive], np.full(int(alive.sum()), country)
        slots = np.concatenate([p[0] for p in parts])
        gens = np.concatenate([p[1] for p in parts])
        flags = np.repeat([p[2] for p in parts], [len(p[0]) for p in parts])
        alive = self.cols.gen[slots] == gens
        return slots[alive], flags[alive]

    def _keep_best(self) -> float:
        """The k-th best score held; drop the partners that can no longer be among the k."""
        scores, ties, slots, country = self._held()
        kth = float(-np.partition(-scores, self.k - 1)[self.k - 1])
        keep = scores >= kth
        self.parts = [(scores[keep], ties[keep], slots[keep], country[keep])]
        self.held = int(keep.sum())
        return kth

    def _held(self) -> tuple[Any, Any, Any, Any]:
        """The eligible partners kept: scores, tie-breaks, slots, found through the country."""
        if len(self.parts) > 1:
            columns = [np.concatenate(column) for column in zip(*self.parts, strict=True)]
            self.parts = [(columns[0], columns[1], columns[2], columns[3])]
        return self.parts[0]

    def _examine(self, s: Any, country: Any, *, partners: bool = False) -> None:
        cols, ctx, result = self.cols, self.ctx, self.result
        if self.multi:
            ok = (cols.caps[s] & self.need_low) == self.need_low
            if self.wide_needs:
                mask = ctx.need_mask
                ok = np.fromiter(
                    (self.d.entry_at(int(x)).caps & mask == mask for x in s), bool, len(s)
                )
            s, country = s[ok], country[ok]
        m = cols.marks[s]
        if self.partnered and not partners:  # examined first
            other = (m & _PARTNER) == 0
            s, country, m = s[other], country[other], m[other]
        twice = country & ((m & _DUAL) != 0)  # also in the region's bucket: counted there
        if twice.any():
            s, country, m = s[~twice], country[~twice], m[~twice]
        result.covering += len(s)
        if not len(s):
            return
        counts = result.counts
        rem = np.ones(len(s), bool)

        def hit(rule: str, bad: Any) -> None:
            nonlocal rem
            hits = rem & bad
            counts[rule] += int(np.count_nonzero(hits))
            rem &= ~hits

        if ctx.required:
            hit(CERTIFICATION, (m & _CERTIFIED) == 0)
        if self.origin is not None:
            hit(ORIGINATOR, (m & _ORIGIN) != 0)
        if ctx.consent is not None:
            hit(OUTSIDE_CONSENT, (m & _INSIDE) == 0)
        if ctx.exclude:
            hit(DECLINED_OR_EXPIRED, (m & _DECLINED) != 0)
        hit(NOT_ACCEPTING, ~cols.accepting[s])
        if ctx.retained_mask:
            retained = (cols.caps[s] & self.retained_low) != 0
            if ctx.retained_mask > _LOW:
                wide = ctx.retained_mask
                retained = np.fromiter(
                    (self.d.entry_at(int(x)).caps & wide != 0 for x in s), bool, len(s)
                )
            hit(RETAINED_CAPABILITY, retained)
        if self.naming:
            hit(COMPETITOR, (m & _COMPETITOR) != 0)
        if self.refusing:
            hit(REFUSED, (m & _REFUSED) != 0)
        opened, capacity = cols.open[s], cols.capacity[s]
        hit(AT_CAPACITY, opened >= capacity)
        if not rem.any():
            return
        e = s[rem]
        result.eligible += len(e)
        self.held += len(e)
        scores, _values = self._scores(e, m[rem], opened[rem], capacity[rem], country[rem])
        ties = (self.key_hash ^ cols.id_hash[e]) * _MIX
        self.parts.append((scores, ties, e, country[rem]))

    def _scores(self, e: Any, m: Any, opened: Any, capacity: Any, country: Any) -> Any:
        """The scores of eligible partners: ``factors``' arithmetic, in its order, and the
        factors that do not come from the stats columns (``country``: found through the country
        of the opportunity's region, a bool or one per partner)."""
        cols, ctx = self.cols, self.ctx
        w, n, now = ctx.weights, ctx.n_needs, ctx.now_ts
        ncaps = cols.ncaps[e].astype(np.float64)
        fit = np.where(ncaps >= n, n / ncaps, 1.0)
        bits = cols.cert_bits[e]
        low, high = cols.cert_min[e], cols.cert_max[e]
        cert = np.bitwise_count(bits & self.need_low).astype(np.float64)
        cert = np.where(now < low, cert, 0.0) / n
        for i in np.flatnonzero(((now >= low) & (now < high)) | ((bits & _FLAG) != 0)).tolist():
            cert[i] = certification_value(self.d.entry_at(int(e[i])), ctx)
        region = np.where(((m & _DUAL) == 0) & country, w.country_region, 1.0)
        industries = cols.industries[e]
        listed = np.where((industries & self.industry_low) != 0, 1.0, 0.0)
        industry = np.where(industries == 0, w.unknown, listed)
        if ctx.industry_mask > _LOW:
            for i in np.flatnonzero((industries & _FLAG) != 0).tolist():
                entry = self.d.entry_at(int(e[i]))
                industry[i] = 1.0 if entry.industries & ctx.industry_mask else 0.0
        free = capacity > opened
        share = np.divide(opened, capacity, out=np.zeros(len(e)), where=free)
        load = np.where(free, 1.0 - share, 0.0)
        reciprocity = np.full(len(e), 0.5)
        special = np.arange(len(e)) if self.every_reciprocity else np.flatnonzero(m & _PEER)
        for i in special.tolist():
            reciprocity[i] = self._reciprocity(self.d.entry_at(int(e[i])).partner_id)
        score = w.fit * fit + w.certification * cert
        score += w.region * region
        score += w.industry * industry
        score += cols.dyn[e] if self.tiered else cols.stats_part(e, w)
        score += w.load * load
        score += w.reciprocity * reciprocity
        if self.partnered:  # else 0 for everybody: adding 0.0 changes no float
            partnership = np.where((m & _PARTNER) != 0, 1.0, 0.0)
            score += w.partnership * partnership
        else:
            partnership = np.zeros(len(e))
        return score / w.total, (fit, cert, region, industry, load, reciprocity, partnership)

    def _finish(self) -> Scan:
        """The best k, sorted, with their factor values: those of the scan's arithmetic (the
        stats factors from the partner's stats, as ``factors`` computes them)."""
        result, cols, ctx = self.result, self.cols, self.ctx
        if not self.parts:
            return result
        scores, ties, slots, country = self._held()
        order = np.lexsort((ties, -scores))
        if self.k:
            order = order[: self.k]
        e = slots[order]
        score, values = self._scores(
            e, cols.marks[e], cols.open[e], cols.capacity[e], country[order]
        )
        w, partner = ctx.weights, ctx.stats.partner
        rows = zip(e.tolist(), score.tolist(), *(v.tolist() for v in values), strict=True)
        for slot, total, fit, cert, region, industry, load, reciprocity, partnership in rows:
            entry = self.d.entry_at(slot)
            acceptance, win, speed = stats_factors(partner(entry.partner_id), w)
            values_ = (
                fit,
                cert,
                region,
                industry,
                acceptance,
                win,
                speed,
                load,
                reciprocity,
                partnership,
            )
            tie = tiebreak(ctx.key_hash, entry.id_hash)
            result.scored.append((-total, tie, entry.partner_id, entry, values_))
        result.scored.sort(key=lambda item: item[:3])
        return result
