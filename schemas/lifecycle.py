"""Events of an opportunity that is not simply routed: resolved conflicts, waiting, exhausted, reroute.

* ``ConflictResolved`` (``opportunities`` topic): the operator's decision on a conflict-flagged
  opportunity — ``route`` it anyway or ``reject`` it — with the reason. The router acts on it.
* ``RerouteRequested`` (``opportunities`` topic): the originator re-opens an exhausted or unroutable
  opportunity. It carries the opportunity as published, because a closed opportunity's routing row
  no longer does (``streams/offers/closed.py``).
* ``OpportunityWaiting`` (``referrals`` topic): nobody can take it *yet* — the only obstacle is
  capacity, or no partner covers its needs in its region yet. It is routed when that changes, until
  ``until`` (its expected close).
* ``OpportunityExhausted`` (``referrals`` topic): every partner it was offered to declined or let
  the offer expire, and nobody else is eligible; the counts say how it went.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.common import Contract, OpportunityId, PartnerId, UtcDatetime
from schemas.opportunity import Opportunity

__all__ = [
    "WAITING_REASONS",
    "ConflictResolved",
    "OpportunityExhausted",
    "OpportunityWaiting",
    "RerouteRequested",
]

# Why an opportunity waits (codes of OpportunityWaiting.reasons).
WAITING_REASONS: dict[str, str] = {
    "at_capacity": "eligible partners hold their maximum of open offers",
    "no_partner": "no partner offers every need in the region yet",
}

_Count = Annotated[int, Field(strict=True, ge=0)]
_Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class ConflictResolved(Contract):
    """The operator's decision on a conflict-flagged opportunity (names no other partner)."""

    opportunity_id: OpportunityId
    originator: PartnerId
    decision: Literal["route", "reject"]
    reason: str = Field(min_length=1, max_length=500)
    resolved_at: UtcDatetime


class RerouteRequested(Contract):
    """The originator re-opens its exhausted or unroutable opportunity (those tried stay out)."""

    opportunity_id: OpportunityId
    originator: PartnerId
    opportunity: Opportunity
    requested_at: UtcDatetime


class OpportunityWaiting(Contract):
    """Nobody can take the opportunity yet; it is routed as soon as somebody can."""

    opportunity_id: OpportunityId
    originator: PartnerId
    reasons: dict[_Code, _Count] = Field(
        min_length=1, max_length=8, description="reason code -> partners it applies to"
    )
    until: UtcDatetime = Field(description="it stops waiting then (its expected close)")
    at: UtcDatetime


class OpportunityExhausted(Contract):
    """Everyone it was offered to declined or let the offer expire; nobody else is eligible."""

    opportunity_id: OpportunityId
    originator: PartnerId
    offered: _Count = Field(description="partners it was offered to")
    declined: _Count
    expired: _Count
    rounds: int = Field(strict=True, default=1, ge=1, le=1000)
    at: UtcDatetime
