"""Response bodies of the API as pydantic models: the OpenAPI document's schemas.

Handlers build plain dicts from the views; the contract tests validate every body they receive
against these models, so the document and the served JSON cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Capability, Money, PartnerId, Region
from schemas.opportunity import Contact, Customer, Opportunity, OpportunityWithdrawn
from schemas.partner import Certification, PartnerKind, PartnerProfile
from schemas.referrals import ScoreReason, Teaser
from schemas.terms import Terms

__all__ = [
    "AdminOpportunityView",
    "ApiKeyIssued",
    "CommandAccepted",
    "ErrorBody",
    "Exhausted",
    "FieldErrorBody",
    "Health",
    "HealthWorker",
    "InteropAccepted",
    "Lead",
    "LeadList",
    "Live",
    "Offer",
    "OpportunityAccepted",
    "OpportunityList",
    "OpportunityStatus",
    "OpportunitySummary",
    "OpportunityView",
    "PartnerList",
    "PartnerPatch",
    "PartnerRegistered",
    "Resolution",
    "Resolved",
    "Waiting",
    "Whoami",
]

LeadStatus = Literal["offered", "accepted", "declined", "expired", "won", "lost", "withdrawn"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldErrorBody(_Body):
    field: str = Field(description="dotted path into the JSON body; '$' is the body as a whole")
    message: str
    type: str = Field(description="stable machine code (pydantic's error type)")


class ErrorBody(_Body):
    error: str = Field(description="machine code, e.g. validation_failed, illegal_transition")
    message: str
    errors: list[FieldErrorBody] = Field(description="each bad field (422), else empty")


class PartnerRegistered(PartnerProfile):
    """``PUT /v1/partners/{id}``: the profile as published, plus ``api_key`` when it was issued."""

    api_key: str | None = Field(
        default=None, description="the partner's API key: returned once, on registration"
    )


class ApiKeyIssued(_Body):
    partner_id: str
    key_id: str
    api_key: str = Field(description="returned once; only its SHA-256 is kept")


class OpportunityAccepted(_Body):
    opportunity_id: str
    originator: str
    status: Literal["published"]
    duplicate: bool = Field(description="true: already published with this content, not resent")
    location: str


class Outcome(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: str | None = None
    note: str | None = None
    amount: Money | None = None


class Prime(_Body):
    """The originator of a team opportunity, the prime, as a member sees it once it accepted."""

    partner_id: str
    name: str | None = None
    contact: Contact | None = Field(default=None, description="the prime's profile contact")


class Teammate(_Body):
    partner_id: str
    name: str | None = None
    needs: list[str]


class LeadTeam(_Body):
    """A team role: its needs and the team's size; the prime once accepted; the other members
    only once every role is accepted (the team assembled)."""

    role: list[str]
    size: int
    prime: Prime | None = Field(default=None, description="once this role is accepted")
    members: list[Teammate] | None = Field(
        default=None, description="the other members, once the team is assembled"
    )


class Lead(_Body):
    """An offer as its holder sees it (``GET /v1/leads`` items, SSE ``data``)."""

    referral_id: str
    opportunity_id: str
    originator: str
    status: LeadStatus
    teaser: Teaser
    score: float
    reasons: list[ScoreReason]
    round: int
    rank: int
    policy_version: int | None = Field(
        default=None, description="the routing policy version that ranked this offer"
    )
    offered_at: datetime
    expires_at: datetime
    updated_at: datetime
    customer: Customer | None = Field(default=None, description="only once accepted")
    deal_size: Money | None = Field(default=None, description="only once accepted")
    title: str | None = None
    outcome: Outcome | None = None
    terms: Terms | None = Field(
        default=None, description="the terms in force when offered; accepting accepts them"
    )
    team: LeadTeam | None = Field(default=None, description="a team opportunity's role")


class LeadList(_Body):
    leads: list[Lead]
    count: int = Field(description="leads on this page")
    next: str | None = Field(default=None, description="cursor of the next page (?next=), or null")


class Offer(_Body):
    """One offer of an opportunity, as its originator sees it."""

    referral_id: str
    partner_id: str
    status: LeadStatus
    round: int
    rank: int
    score: float
    reasons: list[ScoreReason]
    policy_version: int | None = Field(
        default=None, description="the routing policy version that ranked this offer"
    )
    offered_at: datetime
    expires_at: datetime
    updated_at: datetime
    outcome: Outcome | None = None


OpportunityStatus = Literal[
    "routing",
    "offered",
    "accepted",
    "won",
    "lost",
    "withdrawn",
    "conflict",
    "waiting",
    "exhausted",
    "unroutable",
    "rejected",
]


class Waiting(_Body):
    reasons: dict[str, int] = Field(description="at_capacity (partners) or no_partner")
    until: datetime = Field(description="it waits until then (its expected close)")


class Exhausted(_Body):
    offered: int
    declined: int
    expired: int
    rounds: int


class Resolution(_Body):
    decision: Literal["route", "reject"]
    reason: str
    resolved_at: datetime


class TeamRoleView(_Body):
    needs: list[str]
    status: Literal[
        "offered", "accepted", "won", "lost", "declined", "expired", "withdrawn", "unfilled"
    ]
    partner_id: str | None = Field(default=None, description="once the role is accepted")
    reason: str | None = Field(default=None, description="why it is unfilled")


class TeamStanding(_Body):
    status: Literal["assembling", "assembled", "incomplete"]
    roles: list[TeamRoleView]


class OpportunityView(_Body):
    """An opportunity's routing state (``connectors/http/standing.py`` says how it is derived)."""

    opportunity_id: str
    originator: str
    status: OpportunityStatus
    published_at: datetime
    opportunity: Opportunity
    offers: list[Offer]
    notices: list[dict[str, Any]] = Field(
        description="notices: conflict_flagged (holds_claim: yours registered the customer "
        "first), conflict_resolved, opportunity_waiting, opportunity_exhausted, "
        "opportunity_unroutable, reroute_requested, team_planned, team_assembled, team_incomplete"
    )
    conflict: bool = Field(description="flagged: the customer and need were already registered")
    waiting: Waiting | None = Field(default=None, description="when status is waiting")
    exhausted: Exhausted | None = Field(default=None, description="when status is exhausted")
    resolution: Resolution | None = Field(default=None, description="the operator's decision")
    withdrawn: OpportunityWithdrawn | None = None
    team: TeamStanding | None = Field(default=None, description="a team opportunity's roles")


class AdminOpportunityView(OpportunityView):
    """The operator's view of any opportunity: the originator's view and its history."""

    history: list[dict[str, Any]] = Field(description="every offer step and notice, oldest first")


class OpportunitySummary(_Body):
    originator: str
    opportunity_id: str
    status: OpportunityStatus
    published_at: datetime
    needs: list[str]
    region: str
    offers: int


class OpportunityList(_Body):
    """A page of opportunities (operator)."""

    opportunities: list[OpportunitySummary]
    next: str | None = Field(default=None, description="cursor of the next page (?next=), or null")


class PartnerList(_Body):
    """A page of partner profiles (operator)."""

    partners: list[PartnerProfile]
    next: str | None = Field(default=None, description="cursor of the next page (?next=), or null")


class PartnerPatch(BaseModel):
    """``PATCH /v1/partners/{id}``: a JSON merge patch (RFC 7396) of the profile — any of the
    profile's fields; ``null`` restores the field's default; the result is validated whole."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    kind: PartnerKind | None = None
    capabilities: list[Capability] | None = None
    certifications: list[Certification] | None = None
    regions: list[Region] | None = None
    accepting: bool | None = None
    capacity: int | None = None
    competitors: list[PartnerId] | None = None
    refuses: list[PartnerId] | None = None
    industries: list[str] | None = None


class InteropAccepted(OpportunityAccepted):
    """``202`` of an interop import: the opportunity published, and what the mapping dropped."""

    format: Literal["microsoft", "aws"]
    dropped: list[str] = Field(description="document paths (or facts) the mapping did not carry")


class Resolved(_Body):
    """``202`` of a conflict resolution: published; the router acts on it."""

    opportunity_id: str
    originator: str
    decision: Literal["route", "reject"]
    status: Literal["routing", "rejected"]


class CommandAccepted(_Body):
    """``202`` of accept/decline/outcome: published; the ledger will show the result."""

    referral_id: str
    requested: Literal["accept", "decline", "won", "lost"]
    status: LeadStatus
    lead: str


class HealthWorker(_Body):
    worker_id: str
    state: Literal["starting", "ready"]
    partitions: int = Field(description="partitions of opportunities it holds")


class Whoami(_Body):
    """``GET /v1/me``: the partner the bearer key belongs to."""

    partner_id: str
    name: str | None = Field(description="the profile's name; null before a profile is read")


class Health(_Body):
    """``/healthz``: ``ok`` only when an opportunity published now is routed."""

    status: Literal["ok", "starting"]
    waiting_for: list[str] = Field(description="what is still starting (empty when ok)")
    broker: dict[str, Any]
    read_model: dict[str, Any]
    workers: list[HealthWorker]


class Live(_Body):
    status: Literal["alive"]
