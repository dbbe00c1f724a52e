"""Offers, the partners' responses (commands) and the referral ledger (what happened).

Privacy (DESIGN.md): an :class:`OfferMade` carries a :class:`Teaser` only — need, region, industry,
size band, timing — never the customer's identity or contacts. Those travel once, in
:class:`LeadRevealed`, addressed to the partner that accepted.

Every event names ``opportunity_id`` + ``originator`` (the topic key is
``opportunity_key(originator, opportunity_id)``) and, when it is about one partner, ``partner_id`` and
the stable ``referral_id`` of :func:`schemas.ids.referral_id`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from schemas.common import (
    Capability,
    Contract,
    Currency,
    IsoDate,
    Money,
    OpportunityId,
    PartnerId,
    Region,
    UtcDatetime,
)
from schemas.ids import REFERRAL_ID_PATTERN
from schemas.opportunity import Customer, Opportunity
from schemas.teams import TeamRole
from schemas.terms import Terms

__all__ = [
    "DECLINE_REASONS",
    "LOST_REASONS",
    "SIZE_BANDS",
    "AcceptReferral",
    "DeclineReason",
    "DeclineReferral",
    "LeadRevealed",
    "LostReason",
    "OfferMade",
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralExpired",
    "ReferralId",
    "ReferralLost",
    "ReferralWithdrawn",
    "ReferralWon",
    "ReportOutcome",
    "ScoreReason",
    "SizeBand",
    "Teaser",
    "size_band",
    "teaser_of",
]

ReferralId = Annotated[str, StringConstraints(pattern=REFERRAL_ID_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

# Deal size bands, in units of the deal's own currency (no conversion): coarse on purpose.
SizeBand = Literal["under-10k", "10k-50k", "50k-250k", "250k-1m", "1m-plus"]
SIZE_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(10_000), "under-10k"),
    (Decimal(50_000), "10k-50k"),
    (Decimal(250_000), "50k-250k"),
    (Decimal(1_000_000), "250k-1m"),
)

# Mirrors Microsoft Partner Center decline reasons, plus "other" (explain in the note).
DeclineReason = Literal[
    "no_capacity", "not_a_fit", "out_of_region", "conflict_of_interest", "customer_known",
    "timing", "deal_too_small", "other",
]  # fmt: skip
DECLINE_REASONS: tuple[str, ...] = DeclineReason.__args__  # type: ignore[attr-defined]

# Mirrors AWS Partner Central ClosedLostReason, simplified.
LostReason = Literal[
    "price", "competitor", "no_decision", "budget", "timing", "requirements_not_met",
    "customer_unresponsive", "other",
]  # fmt: skip
LOST_REASONS: tuple[str, ...] = LostReason.__args__  # type: ignore[attr-defined]


def size_band(amount: Decimal) -> SizeBand:
    """The coarse band of a deal size shown in a teaser instead of the amount."""
    for upper, band in SIZE_BANDS:
        if amount < upper:
            return band  # type: ignore[return-value]
    return "1m-plus"


class Teaser(Contract):
    """What an offered partner may see before accepting: no customer identity, no contacts."""

    needs: tuple[Capability, ...] = Field(min_length=1, max_length=16)
    region: Region
    industry: str = Field(min_length=1, max_length=80)
    size_band: SizeBand
    currency: Currency
    expected_close: IsoDate


def teaser_of(opportunity: Opportunity) -> Teaser:
    return Teaser(
        needs=opportunity.needs,
        region=opportunity.region,
        industry=opportunity.industry,
        size_band=size_band(opportunity.deal_size.amount),
        currency=opportunity.deal_size.currency,
        expected_close=opportunity.expected_close,
    )


class ScoreReason(Contract):
    """One term of an offer's score: ``factor`` (fit, certification, region, acceptance, win,
    speed, load, reciprocity, ...), the factor's ``value`` in [0, 1], its ``weight``, its
    ``contribution`` to the score (``weight * value / sum of the weights``: the contributions of
    an offer add up to its score) and a human explanation. ``points`` is ``weight * value``
    (kept for readers of earlier events, which lack the three other numbers)."""

    factor: Slug
    points: float = Field(strict=True, allow_inf_nan=False, ge=-1e6, le=1e6)
    detail: str = Field(default="", max_length=300)
    value: float | None = Field(
        default=None, strict=True, allow_inf_nan=False, ge=0, le=1, description="in [0, 1]"
    )
    weight: float | None = Field(default=None, strict=True, allow_inf_nan=False, ge=0, le=1e6)
    contribution: float | None = Field(
        default=None,
        strict=True,
        allow_inf_nan=False,
        ge=0,
        le=1,
        description="weight * value / total weight; an offer's contributions sum to its score",
    )


class _AboutReferral(Contract):
    referral_id: ReferralId
    opportunity_id: OpportunityId
    originator: PartnerId
    partner_id: PartnerId


class OfferMade(_AboutReferral):
    """The router offers an opportunity's teaser to one partner until ``expires_at``."""

    round: int = Field(
        strict=True, ge=1, le=1000, description="offer round: 1 first, +1 per re-offer wave"
    )
    rank: int = Field(
        strict=True, ge=1, le=100_000, description="position in the ranked candidate list"
    )
    score: float = Field(strict=True, allow_inf_nan=False, ge=-1e9, le=1e9)
    reasons: tuple[ScoreReason, ...] = Field(default=(), max_length=32)
    teaser: Teaser
    offered_at: UtcDatetime
    expires_at: UtcDatetime
    policy_version: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=1_000_000_000,
        description="the routing policy version that ranked this offer (0: the built-in "
        "defaults, before any version was applied; absent on offers made before versioning)",
    )
    terms: Terms | None = Field(
        default=None,
        description="The terms in force when the offer was made (the partnership's, else the "
        "network default); accepting the offer accepts them. Null: no referral fee.",
    )
    team: TeamRole | None = Field(
        default=None,
        description="For a team opportunity: the role offered (its needs) and the team's size; "
        "never the other members. Null: not a team.",
    )

    @model_validator(mode="after")
    def _expires_after_offer(self) -> OfferMade:
        if self.expires_at <= self.offered_at:
            raise ValueError("expires_at: must be later than offered_at")
        return self


# --- commands: a partner responds (``responses`` topic); the router decides what happens ---


class AcceptReferral(_AboutReferral):
    """Command: the holding partner accepts the offer."""

    requested_at: UtcDatetime


class DeclineReferral(_AboutReferral):
    """Command: the holding partner declines, with a reason code and an optional note."""

    reason: DeclineReason
    note: str | None = Field(default=None, max_length=500)
    requested_at: UtcDatetime


class ReportOutcome(_AboutReferral):
    """Command: the accepted partner reports the deal won (with the amount) or lost (with why)."""

    status: Literal["won", "lost"]
    amount: Money | None = None
    reason: LostReason | None = None
    note: str | None = Field(default=None, max_length=500)
    requested_at: UtcDatetime

    @model_validator(mode="after")
    def _won_has_amount_lost_has_reason(self) -> ReportOutcome:
        if self.status == "won" and self.amount is None:
            raise ValueError("amount: required when status is won")
        if self.status == "won" and self.reason is not None:
            raise ValueError("reason: only allowed when status is lost")
        if self.status == "lost" and self.reason is None:
            raise ValueError("reason: required when status is lost")
        if self.status == "lost" and self.amount is not None:
            raise ValueError("amount: only allowed when status is won")
        return self


# --- the ledger (``referrals`` topic): facts, published by the router only ---


class ReferralAccepted(_AboutReferral):
    accepted_at: UtcDatetime


class ReferralDeclined(_AboutReferral):
    reason: DeclineReason
    note: str | None = Field(default=None, max_length=500)
    declined_at: UtcDatetime


class ReferralExpired(_AboutReferral):
    """The offer's deadline passed without a response."""

    expired_at: UtcDatetime


class ReferralWon(_AboutReferral):
    amount: Money
    won_at: UtcDatetime


class ReferralLost(_AboutReferral):
    reason: LostReason
    note: str | None = Field(default=None, max_length=500)
    lost_at: UtcDatetime


class ReferralWithdrawn(_AboutReferral):
    """The referral is cancelled because its originator withdrew the opportunity."""

    reason: str | None = Field(default=None, max_length=500)
    withdrawn_at: UtcDatetime


class LeadRevealed(_AboutReferral):
    """Customer details for the accepting partner (``partner_id``) only: never shown to others."""

    customer: Customer
    deal_size: Money
    title: str | None = Field(default=None, max_length=200)
    revealed_at: UtcDatetime
