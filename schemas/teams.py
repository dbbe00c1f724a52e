"""Teaming: one opportunity, several complementary partners (DESIGN.md "Teaming").

An opportunity published with ``team: true`` is routed to a *team*: each member owns a *role* (a
subset of the needs), and each role is its own referral. These events are on the ``referrals``
topic, keyed by the opportunity key like every fact about it:

* ``TeamPlanned``: the router planned the team (``round`` 1), or re-planned the roles nobody
  accepted (``round`` 2, once): the roles and the partner offered each (for the originator);
* ``TeamAssembled``: every role is accepted (for the originator);
* ``LeadAssembled``: the same news for one member, addressed to it like ``LeadRevealed`` (its lead,
  its webhook ``lead.assembled``): the other members and their roles;
* ``TeamIncomplete``: a role nobody accepted could not be re-planned; ``reasons`` per role.

An offer of a role carries :class:`TeamRole` (its needs and the team's size), never the other
members.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from schemas.common import Capability, Contract, OpportunityId, PartnerId, UtcDatetime
from schemas.ids import REFERRAL_ID_PATTERN

__all__ = [
    "TEAM_STATUSES",
    "LeadAssembled",
    "TeamAssembled",
    "TeamIncomplete",
    "TeamMate",
    "TeamMember",
    "TeamPlanned",
    "TeamRole",
    "role_name",
]

# The team's status as its originator sees it (GET /v1/opportunities/{id}: team.status).
TEAM_STATUSES = ("assembling", "assembled", "incomplete")

_RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_+.-]{1,400}$")]
_Reason = Annotated[str, StringConstraints(min_length=1, max_length=300)]


def role_name(needs: tuple[str, ...] | list[str]) -> str:
    """A role's name: its needs joined with ``+`` (``storage+backup``)."""
    return "+".join(needs)


class TeamRole(Contract):
    """What an offer of one role says about the team: the role's needs and how many roles."""

    role: tuple[Capability, ...] = Field(min_length=1, max_length=16)
    size: int = Field(strict=True, ge=1, le=16, description="roles in the team")


_ReferralId = Annotated[str, StringConstraints(pattern=REFERRAL_ID_PATTERN)]


class TeamMate(Contract):
    """A member of an assembled team as the other members learn it: its role and who it is."""

    needs: tuple[Capability, ...] = Field(min_length=1, max_length=16)
    partner_id: PartnerId


class TeamMember(TeamMate):
    """One role of a planned or assembled team, the partner holding it and its referral."""

    referral_id: _ReferralId


class TeamPlanned(Contract):
    """The router planned the team (round 1) or re-planned the roles nobody accepted (round 2)."""

    opportunity_id: OpportunityId
    originator: PartnerId
    round: int = Field(strict=True, ge=1, le=2, description="1: planned; 2: the one re-plan")
    roles: tuple[TeamMember, ...] = Field(min_length=1, max_length=16)
    at: UtcDatetime


class TeamAssembled(Contract):
    """Every role is accepted: the members learn each other (and only now)."""

    opportunity_id: OpportunityId
    originator: PartnerId
    members: tuple[TeamMember, ...] = Field(min_length=1, max_length=16)
    at: UtcDatetime


class TeamIncomplete(Contract):
    """A role nobody accepted could not be re-planned: the team will not be assembled."""

    opportunity_id: OpportunityId
    originator: PartnerId
    reasons: dict[_RoleName, _Reason] = Field(
        min_length=1, max_length=64, description="role (needs joined with +) -> why it is unfilled"
    )
    at: UtcDatetime


class LeadAssembled(Contract):
    """One member's news that its team is assembled: the other members and their roles."""

    referral_id: _ReferralId
    opportunity_id: OpportunityId
    originator: PartnerId
    partner_id: PartnerId
    role: tuple[Capability, ...] = Field(min_length=1, max_length=16)
    members: tuple[TeamMate, ...] = Field(max_length=16, description="the other members")
    assembled_at: UtcDatetime
