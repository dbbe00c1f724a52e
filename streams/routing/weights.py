"""The ranking weights: every tunable of the score in one documented place, and the factors.

Each factor is a number in [0, 1]; the score is their weighted mean (also in [0, 1]):

============== ============================================================================
factor         meaning
============== ============================================================================
fit            capability focus: needed capabilities / capabilities the partner offers
               (a storage specialist beats a do-everything integrator for a storage need)
certification  share of the needs for which the partner holds a certification valid now
region         1 when it serves the opportunity's region itself, ``country_region`` (0.5)
               when only through the country (`US` for `US-CA`)
industry       1 when it lists the opportunity's industry, ``unknown`` (0.5) when it lists
               none, 0 when it lists others
acceptance     accepted / (accepted + declined + expired), Beta-smoothed towards ``prior``
win            won / (won + lost), Beta-smoothed the same way
speed          1 / (1 + mean seconds to accept / ``speed_half_life_s``); ``unknown`` if never
load           1 - open offers / capacity: free capacity, so busy partners yield to idle ones
reciprocity    (received + 1) / (received + sent + 2): referrals the candidate gave the
               originator (accepted by it) against those the originator gave the candidate
partnership    1 when the candidate has an active partnership with the originator, else 0
============== ============================================================================

Smoothing: with ``prior_strength`` pseudo-observations at ``prior`` (0.5), a partner with no
history scores 0.5 on acceptance and win, so a new partner is neither starved nor favoured.
Ties (equal scores) break on a hash of (opportunity key, partner id): deterministic, and different
opportunities favour different partners, so load spreads instead of going alphabetically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_WEIGHTS", "FACTORS", "TIEBREAK_MIX", "Weights", "tiebreak"]

FACTORS: tuple[str, ...] = (
    "fit",
    "certification",
    "region",
    "industry",
    "acceptance",
    "win",
    "speed",
    "load",
    "reciprocity",
    "partnership",
)


@dataclass(frozen=True, slots=True)
class Weights:
    """Every tunable of the ranking, in one place (``weights=`` of :func:`route`)."""

    fit: float = 1.0
    certification: float = 1.0
    region: float = 0.5
    industry: float = 0.5
    acceptance: float = 2.0
    win: float = 1.5
    speed: float = 0.5
    load: float = 2.0
    reciprocity: float = 1.0
    partnership: float = 2.0
    # Beta smoothing of the acceptance and win rates: ``prior_strength`` observations at ``prior``.
    prior: float = 0.5
    prior_strength: float = 4.0
    # speed is 0.5 when the mean time to accept equals this many seconds.
    speed_half_life_s: float = 4 * 3600.0
    # the region factor of a partner serving the opportunity's country rather than its subdivision
    country_region: float = 0.5
    # the value of a factor with no information (industry not listed, never accepted)
    unknown: float = 0.5
    # how many ranked partners route() returns (the waterfall); 0 means all eligible partners
    max_ranked: int = 25
    # no longer used: route() ranks exactly (see streams.routing.scan); kept so that existing
    # callers and configurations still construct (0 or more).
    pool: int = 32
    # the sum of the factor weights (derived, not an argument)
    total: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        weights = [getattr(self, f) for f in FACTORS]
        if min(weights) < 0 or sum(weights) <= 0:
            negative = [f for f, w in zip(FACTORS, weights, strict=True) if w < 0]
            named = f" ({', '.join(negative)} < 0)" if negative else ""
            raise ValueError(f"weights must be >= 0 with a positive sum{named}")
        if not 0 <= self.prior <= 1 or self.prior_strength < 0:
            raise ValueError("prior must be in [0, 1] and prior_strength >= 0")
        if self.speed_half_life_s <= 0 or self.max_ranked < 0 or self.pool < 0:
            raise ValueError("speed_half_life_s must be > 0, max_ranked and pool >= 0")
        for name in ("country_region", "unknown"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]")

        object.__setattr__(self, "total", float(sum(weights)))


DEFAULT_WEIGHTS = Weights()


def tiebreak(opportunity_hash: int, partner_hash: int) -> int:
    """The order of equal scores: a 64-bit multiplicative mix of the two hashes, so each
    opportunity orders tied partners differently (deterministically, in every process)."""
    return ((opportunity_hash ^ partner_hash) * TIEBREAK_MIX) & 0xFFFFFFFFFFFFFFFF


TIEBREAK_MIX = 0x9E3779B97F4A7C15  # the odd 64-bit multiplier of tiebreak()
