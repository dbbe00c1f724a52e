"""Ranking: the factors of one eligible partner's score, and their explanation.

The factors and their weights are documented in :mod:`streams.routing.weights`. Every offered
partner carries its score and one :class:`Reason` per factor, so a partner (and an ops person) can
see why it was chosen: "offers 1 needed of its 2 capabilities", "accepted 8 of 10 offers", ...
Reasons never name a third partner (no competitor or refusal is ever shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.routing.directory import PartnerEntry
from streams.routing.eligibility import Context
from streams.routing.weights import FACTORS, Weights, acceptance_rate, speed, win_rate

__all__ = ["Candidate", "Reason", "explain", "factors", "weighted_score"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor of a score: its value in [0, 1], its weight and what it means here."""

    factor: str
    value: float
    weight: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "value": self.value,
            "weight": self.weight,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible partner, its rank (1 = best), score in [0, 1] and the reasons for it."""

    partner_id: str
    rank: int
    score: float
    reasons: tuple[Reason, ...]

    def reasons_as_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reasons]


def factors(entry: PartnerEntry, ctx: Context) -> tuple[float, ...]:
    """The factor values of an eligible partner, in :data:`FACTORS` order."""
    w = ctx.weights
    n = ctx.n_needs
    fit = n / entry.ncaps if entry.ncaps >= n else 1.0
    cert = 0.0
    if entry.certs:
        certified = 0
        for bit, _vendor, expires in entry.certs:
            if bit & ctx.need_mask and ctx.now_ts < expires:
                certified |= bit
        cert = certified.bit_count() / n
    region = 1.0 if ctx.region_id in entry.region_ids else w.country_region
    if not entry.industries:
        industry = w.unknown
    else:
        industry = 1.0 if ctx.industry in entry.industries else 0.0
    stats = ctx.stats.partner(entry.partner_id)
    load = 1.0 - stats.open_offers / entry.capacity if entry.capacity > stats.open_offers else 0.0
    received = ctx.stats.given(entry.partner_id, ctx.originator)
    sent = ctx.stats.given(ctx.originator, entry.partner_id)
    return (
        fit,
        cert,
        region,
        industry,
        acceptance_rate(stats, w),
        win_rate(stats, w),
        speed(stats, w),
        load,
        (received + 1) / (received + sent + 2),
    )


def weighted_score(values: tuple[float, ...], w: Weights) -> float:
    """The weighted mean of the factor values: a score in [0, 1]."""
    total = (
        w.fit * values[0]
        + w.certification * values[1]
        + w.region * values[2]
        + w.industry * values[3]
        + w.acceptance * values[4]
        + w.win * values[5]
        + w.speed * values[6]
        + w.load * values[7]
        + w.reciprocity * values[8]
    )
    return total / w.total


def explain(entry: PartnerEntry, ctx: Context, values: tuple[float, ...]) -> tuple[Reason, ...]:
    """One reason per factor, in :data:`FACTORS` order."""
    w = ctx.weights
    stats = ctx.stats.partner(entry.partner_id)
    n = ctx.n_needs
    decided = stats.accepted + stats.declined + stats.expired
    mean = stats.mean_s_to_accept
    received = ctx.stats.given(entry.partner_id, ctx.originator)
    sent = ctx.stats.given(ctx.originator, entry.partner_id)
    if ctx.region_id in entry.region_ids:
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
        f"certified for {round(values[1] * n)} of {n} needed capabilities",
        region,
        industry,
        f"accepted {stats.accepted} of {decided} offers answered or expired",
        f"won {stats.won} of {stats.won + stats.lost} closed referrals",
        "no acceptance yet" if mean is None else f"accepts in {mean / 3600:.1f} h on average",
        f"{stats.open_offers} open offers of a capacity of {entry.capacity}",
        f"gave the originator {received} accepted referrals, received {sent}",
    )
    return tuple(
        Reason(name, round(value, 4), getattr(w, name), detail)
        for name, value, detail in zip(FACTORS, values, details, strict=True)
    )
