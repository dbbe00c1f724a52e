"""Ranking: the factors of one eligible partner's score, and their explanation.

The factors and their weights are documented in :mod:`streams.routing.weights`. Every offered
partner carries its score and one :class:`Reason` per factor, so a partner (and an ops person) can
see why it was chosen: "offers 1 needed of its 2 capabilities", "accepted 8 of 10 offers", ...
Reasons never name a third partner (no competitor or refusal is ever shown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.routing.directory import PartnerEntry
from streams.routing.eligibility import Context
from streams.routing.stats import PartnerStats, stats_factors
from streams.routing.weights import FACTORS

__all__ = [
    "Basis",
    "Candidate",
    "Reason",
    "candidate",
    "certification_value",
    "explain",
    "factors",
]


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor of a score: its value in [0, 1], its weight, its contribution to the score
    (``weight * value / total weight``: the contributions of a candidate add up to its score)
    and what it means here."""

    factor: str
    value: float
    weight: float
    contribution: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "value": self.value,
            "weight": self.weight,
            "contribution": self.contribution,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Basis:
    """What an explanation is made of, captured when the candidate was ranked."""

    entry: PartnerEntry
    ctx: Context
    stats: PartnerStats
    received: int  # referrals the candidate gave the originator (accepted by it)
    sent: int  # referrals the originator gave the candidate (accepted by it)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible partner, its rank (1 = best), score in [0, 1] and the reasons for it.

    ``values`` are the factor values in :data:`FACTORS` order; ``reasons`` spells them out (built
    on demand: most candidates of a waterfall are never offered).
    """

    partner_id: str
    rank: int
    score: float
    values: tuple[float, ...]
    basis: Basis = field(compare=False, repr=False)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return explain(self.basis, self.values)

    def reasons_as_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reasons]


def candidate(
    pid: str, rank: int, score: float, entry: PartnerEntry, ctx: Context, values: tuple[float, ...]
) -> Candidate:
    """A ranked candidate, its explanation's inputs captured now (stats may change later)."""
    basis = Basis(
        entry,
        ctx,
        ctx.stats.partner(pid),
        ctx.stats.given(pid, ctx.originator),
        ctx.stats.given(ctx.originator, pid),
    )
    return Candidate(pid, rank, score, values, basis)


def factors(
    entry: PartnerEntry, ctx: Context, stats: PartnerStats
) -> tuple[float, tuple[float, ...]]:
    """The score of an eligible partner (``stats``: its stats) and its factor values, in
    :data:`FACTORS` order. ``route_linear`` calls it for every eligible partner; ``route`` for
    the ones it returns, after ranking them with the same arithmetic on columns.
    """
    w = ctx.weights
    n = ctx.n_needs
    ncaps = entry.caps.bit_count()
    fit = n / ncaps if ncaps >= n else 1.0
    cert = certification_value(entry, ctx)
    region = 1.0 if entry.regions & ctx.region_bit else w.country_region
    if not entry.industries:
        industry = w.unknown
    else:
        industry = 1.0 if entry.industries & ctx.industry_mask else 0.0
    pid = entry.partner_id
    acceptance, win, speed = stats_factors(stats, w)
    stats_sum = w.acceptance * acceptance + w.win * win + w.speed * speed  # = stats_part()
    capacity, opened = entry.capacity, stats.open_offers
    load = 1.0 - opened / capacity if capacity > opened else 0.0
    received = ctx.stats.given(pid, ctx.originator)
    sent = ctx.stats.given(ctx.originator, pid)
    reciprocity = (received + 1) / (received + sent + 2)
    partnership = 1.0 if pid in ctx.partners else 0.0
    # the order of the sum is the one the vectorised scan uses (streams.routing.scan): same floats
    score = (
        w.fit * fit
        + w.certification * cert
        + w.region * region
        + w.industry * industry
        + stats_sum
        + w.load * load
        + w.reciprocity * reciprocity
        + w.partnership * partnership
    ) / w.total
    values = (fit, cert, region, industry, acceptance, win, speed, load, reciprocity, partnership)
    return score, values


def certification_value(entry: PartnerEntry, ctx: Context) -> float:
    """The certification factor: the share of the needs certified at ``ctx.now_ts``."""
    if not entry.certs:
        return 0.0
    certified = 0
    for bit, _vendor, expires in entry.certs:
        if bit & ctx.need_mask and ctx.now_ts < expires:
            certified |= bit
    return certified.bit_count() / ctx.n_needs


def _certification_detail(entry: PartnerEntry, ctx: Context, verified: int) -> str:
    """How many needs have a verified certification valid now, and how many only a claimed one."""
    n = ctx.n_needs
    claimed = 0
    for bit, _vendor, expires in entry.claimed:
        if bit & ctx.need_mask and ctx.now_ts < expires:
            claimed |= bit
    verified_bits = 0
    for bit, _vendor, expires in entry.certs:
        if bit & ctx.need_mask and ctx.now_ts < expires:
            verified_bits |= bit
    only_claimed = (claimed & ~verified_bits).bit_count()
    detail = f"operator-verified certification for {verified} of {n} needed capabilities"
    if only_claimed:
        detail += f"; claimed, not verified (not counted) for {only_claimed}"
    return detail


def explain(basis: Basis, values: tuple[float, ...]) -> tuple[Reason, ...]:
    """One reason per factor, in :data:`FACTORS` order."""
    entry, ctx, stats = basis.entry, basis.ctx, basis.stats
    received, sent = basis.received, basis.sent
    w = ctx.weights
    n = ctx.n_needs
    decided = stats.accepted + stats.declined + stats.expired
    mean = stats.mean_s_to_accept
    if entry.regions & ctx.region_bit:
        region = f"serves {ctx.region}"
    else:
        region = f"serves {ctx.region[:2]}, which covers {ctx.region}"
    if not entry.industries:
        industry = "lists no industry"
    elif values[3] == 1.0:
        industry = f"lists the {ctx.industry} industry"
    else:
        industry = f"does not list the {ctx.industry} industry"
    details = (
        f"offers {n} needed of its {entry.ncaps} capabilities",
        _certification_detail(entry, ctx, round(values[1] * n)),
        region,
        industry,
        f"accepted {stats.accepted} of {decided} offers answered or expired",
        f"won {stats.won} of {stats.won + stats.lost} closed referrals",
        "no acceptance yet" if mean is None else f"accepts in {mean / 3600:.1f} h on average",
        f"{stats.open_offers} open offers of a capacity of {entry.capacity}"
        + (" (capped by the operator)" if entry.capped else ""),
        f"gave the originator {received} accepted referrals, received {sent}",
        "has an active partnership with the originator"
        if values[9]
        else "no active partnership with the originator",
    )
    return tuple(
        Reason(
            name,
            round(value, 4),
            getattr(w, name),
            round(getattr(w, name) * value / w.total, 6),
            detail,
        )
        for name, value, detail in zip(FACTORS, values, details, strict=True)
    )
