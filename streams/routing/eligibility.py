"""Eligibility: who may be offered an opportunity (DESIGN.md domain rules), one rule at a time.

A partner is eligible when it is **complementary** (offers every need and serves the opportunity's
region or its country, with a certification valid at ``now`` from each required vendor) and
**non-competing** (offers none of the capabilities the originator retains; neither side lists the
other as competitor or refused; it is not the originator), and it is accepting, under capacity,
inside the consent scope (``share_with``) and has not already declined or let expire an offer of
this opportunity.

``retains`` defaults to every capability the originator's own profile offers, except the needs (a
storage reseller that asks for storage help does not compete with the storage partner it asks).

Every excluded partner is counted under the first rule, in :data:`RULES` order, that excludes it.
The rule names are stable: they are metric labels and the reasons of the "unroutable" event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from schemas.ids import opportunity_key
from schemas.opportunity import Opportunity
from streams.routing.directory import PartnerDirectory, PartnerEntry
from streams.routing.stats import StatsView
from streams.routing.weights import Weights

__all__ = ["RULES", "Context", "exclusion"]

NOT_COVERING: Final = "not_covering"  # offers some of the needs in the region, not all
ORIGINATOR: Final = "originator"
OUTSIDE_CONSENT: Final = "outside_consent"
DECLINED_OR_EXPIRED: Final = "declined_or_expired"
NOT_ACCEPTING: Final = "not_accepting"
RETAINED_CAPABILITY: Final = "retained_capability"
COMPETITOR: Final = "competitor"
REFUSED: Final = "refused"
CERTIFICATION: Final = "certification"
AT_CAPACITY: Final = "at_capacity"

# complementary first, then the originator and its consent scope, then non-competing, then available
RULES: tuple[str, ...] = (
    NOT_COVERING,
    CERTIFICATION,
    ORIGINATOR,
    OUTSIDE_CONSENT,
    DECLINED_OR_EXPIRED,
    NOT_ACCEPTING,
    RETAINED_CAPABILITY,
    COMPETITOR,
    REFUSED,
    AT_CAPACITY,
)


@dataclass(frozen=True, slots=True)
class Context:
    """One opportunity, resolved against the directory once, for checking many partners."""

    key: str
    key_hash: int
    originator: str
    need_mask: int  # 0 when a need is a capability nobody in the directory offers
    known_need_mask: int  # the needs somebody offers
    n_needs: int
    region: str
    region_bit: int  # the region's bit in PartnerEntry.regions (0: nobody serves it)
    country_bit: int  # the bit of the country of a subdivision region, else 0
    retained_mask: int
    originator_competitors: frozenset[str]
    originator_refuses: frozenset[str]
    consent: frozenset[str] | None
    exclude: frozenset[str]
    required: tuple[tuple[int, str], ...]  # (capability bit, lowercased vendor)
    industry: str
    industry_mask: int  # the opportunity's industry as a PartnerEntry.industries bit (0: unknown)
    now_ts: float
    stats: StatsView
    weights: Weights
    partners: frozenset[str]  # the originator's active partnerships (the partnership factor)

    @classmethod
    def build(
        cls,
        opportunity: Opportunity,
        directory: PartnerDirectory,
        stats: StatsView,
        *,
        now_ts: float,
        exclude: frozenset[str],
        weights: Weights,
        partners: frozenset[str] = frozenset(),
    ) -> Context:
        needs = tuple(dict.fromkeys(opportunity.needs))
        known_need_mask = directory.capability_mask(needs)
        # a need that nobody offers (unknown to the directory): no partner can cover them all
        need_mask = known_need_mask if known_need_mask.bit_count() == len(needs) else 0
        origin = directory.get(opportunity.originator)
        if opportunity.retains is not None:
            retained = directory.capability_mask(opportunity.retains)
        else:
            retained = origin.caps if origin is not None else 0
        retained &= ~known_need_mask
        key = opportunity_key(opportunity.originator, opportunity.opportunity_id)
        region = opportunity.region
        return cls(
            key=key,
            key_hash=int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big"),
            originator=opportunity.originator,
            need_mask=need_mask,
            known_need_mask=known_need_mask,
            n_needs=len(needs),
            region=region,
            region_bit=_bit(directory.region_id(region)),
            country_bit=_bit(directory.region_id(region[:2])) if len(region) > 2 else 0,
            retained_mask=retained,
            originator_competitors=origin.competitors if origin is not None else frozenset(),
            originator_refuses=origin.refuses if origin is not None else frozenset(),
            consent=None if opportunity.share_with is None else frozenset(opportunity.share_with),
            exclude=exclude,
            required=tuple(
                (directory.capability_mask((r.capability,)), r.vendor.lower())
                for r in opportunity.requires_certification
            ),
            industry=opportunity.industry.lower(),
            industry_mask=directory.industry_mask((opportunity.industry,)),
            now_ts=now_ts,
            stats=stats,
            weights=weights,
            partners=partners,
        )

    def covers(self, entry: PartnerEntry) -> bool | None:
        """True: offers every need in the region; None: only some of them; False: none there."""
        if not entry.regions & (self.region_bit | self.country_bit):
            return False
        offered = entry.caps & self.known_need_mask
        if self.need_mask and offered == self.need_mask:
            return True
        return None if offered else False


def _bit(index: int) -> int:
    return 1 << index if index >= 0 else 0


def exclusion(entry: PartnerEntry, ctx: Context) -> str | None:
    """The first rule excluding a partner that covers the needs in the region, or None."""
    for bit, vendor in ctx.required:
        if not entry.certified(bit, ctx.now_ts, vendor):
            return CERTIFICATION
    pid = entry.partner_id
    if pid == ctx.originator:
        return ORIGINATOR
    if ctx.consent is not None and pid not in ctx.consent:
        return OUTSIDE_CONSENT
    if pid in ctx.exclude:
        return DECLINED_OR_EXPIRED
    if not entry.accepting:
        return NOT_ACCEPTING
    if entry.caps & ctx.retained_mask:
        return RETAINED_CAPABILITY
    if pid in ctx.originator_competitors or ctx.originator in entry.competitors:
        return COMPETITOR
    if pid in ctx.originator_refuses or ctx.originator in entry.refuses:
        return REFUSED
    if ctx.stats.partner(pid).open_offers >= entry.capacity:
        return AT_CAPACITY
    return None
