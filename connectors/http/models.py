"""Response bodies of the API as pydantic models: the OpenAPI document's schemas.

Handlers build plain dicts from the views; the contract tests validate every body they receive
against these models, so the document and the served JSON cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Money
from schemas.opportunity import Customer, Opportunity, OpportunityWithdrawn
from schemas.partner import PartnerProfile
from schemas.referrals import ScoreReason, Teaser

__all__ = [
    "ApiKeyIssued",
    "CommandAccepted",
    "ErrorBody",
    "FieldErrorBody",
    "Health",
    "HealthWorker",
    "Lead",
    "LeadList",
    "Live",
    "Offer",
    "OpportunityAccepted",
    "OpportunityView",
    "PartnerRegistered",
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


class LeadList(_Body):
    leads: list[Lead]
    count: int


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


class OpportunityView(_Body):
    opportunity_id: str
    originator: str
    status: Literal["routing", "offered", "accepted", "won", "lost", "unroutable", "withdrawn"]
    published_at: datetime
    opportunity: Opportunity
    offers: list[Offer]
    notices: list[dict[str, Any]] = Field(
        description="ledger notices: opportunity_unroutable, conflict_flagged"
    )
    conflict: bool
    withdrawn: OpportunityWithdrawn | None = None


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
