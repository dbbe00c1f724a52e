"""The directory look-up (pure): a partner's long-list of complementary, non-competing partners.

The routing core decides it: the look-up is routed as an opportunity of the caller for the needs
and region asked (what the caller offers and is not asking for counts as retained, so partners
that would compete with it are out), by :func:`streams.routing.route` over every partner, with no
limit on the ranked list. Unlisted partners are excluded before ranking. Referral statistics are
not used (``NO_STATS``): they are private to each partner, so the long-list ranks on fit,
certification, region and industry, and the load factor's detail (capacity) is not shown. The
caller's own active partnerships count (the ``partnership`` factor): its partners rank higher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from schemas.opportunity import Opportunity
from schemas.partner import PartnerProfile
from streams.routing import DEFAULT_WEIGHTS, PartnerDirectory, Weights, route

__all__ = ["LOOKUP_WEIGHTS", "Listed", "long_list", "lookup_opportunity"]

# the routing weights, every eligible partner ranked (a long-list, not a waterfall)
LOOKUP_WEIGHTS: Weights = replace(DEFAULT_WEIGHTS, max_ranked=0, pool=0)
_PRIVATE_DETAIL = {"load": "not shown in the directory"}


@dataclass(frozen=True)
class Listed:
    """One partner of the long-list: its id, score and reasons (contributions sum to the score)."""

    partner_id: str
    score: float
    reasons: tuple[dict[str, Any], ...]


def lookup_opportunity(
    caller: str, needs: tuple[str, ...], region: str, now: datetime, industry: str | None = None
) -> Opportunity:
    """The look-up as an opportunity of ``caller`` (no customer: nothing is offered)."""
    return Opportunity.model_validate(
        {
            "opportunity_id": "directory-lookup",
            "originator": caller,
            "published_at": now,
            "needs": needs,
            "region": region,
            "industry": industry or "unspecified",
            "deal_size": {"amount": "0", "currency": "USD"},
            "expected_close": now.date(),
            "customer": {"company": "directory look-up", "domain": "directory.invalid"},
        }
    )


def long_list(
    opportunity: Opportunity,
    directory: PartnerDirectory,
    profiles: Iterable[PartnerProfile],
    *,
    now: datetime,
    partners: frozenset[str] = frozenset(),
) -> list[Listed]:
    """The listed partners ``route`` finds eligible for ``opportunity``, best first
    (``partners``: the caller's active partnerships)."""
    unlisted = frozenset(p.partner_id for p in profiles if not p.listed)
    decision = route(
        opportunity,
        directory,
        now=now,
        exclude=unlisted,
        weights=LOOKUP_WEIGHTS,
        partners=partners,
    )
    total = LOOKUP_WEIGHTS.total
    out: list[Listed] = []
    for c in decision.candidates:
        reasons = tuple(
            {
                "factor": r.factor,
                "value": r.value,
                "weight": r.weight,
                "contribution": round(r.value * r.weight / total, 6),
                "detail": _PRIVATE_DETAIL.get(r.factor, r.detail),
            }
            for r in c.reasons
        )
        out.append(Listed(c.partner_id, c.score, reasons))
    return out
