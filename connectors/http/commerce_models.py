"""Response bodies of the commercial layer (for the OpenAPI document and the tests)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.partner import Certification
from schemas.partnership import Partnership, PartnershipStatus

__all__ = [
    "DirectoryEntry",
    "DirectoryList",
    "DirectoryReason",
    "FeeList",
    "FeeSettleInput",
    "FeeView",
    "PartnershipList",
    "Statement",
    "StatementRowBody",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartnershipList(_Body):
    """The caller's partnerships, one page."""

    partnerships: list[Partnership]
    next: str | None = Field(description="pass as ?next= for the next page; null on the last")


class DirectoryReason(_Body):
    factor: str
    value: float | str | None = None
    weight: float | None = None
    contribution: float
    detail: str = ""


class DirectoryEntry(_Body):
    """A listed partner's public profile, ranked for the caller."""

    partner_id: str
    name: str
    kind: str
    capabilities: list[str]
    regions: list[str]
    certifications: list[Certification]
    score: float
    reasons: list[DirectoryReason]
    partnership: PartnershipStatus | None = Field(description="its status with the caller")


class DirectoryList(_Body):
    """The caller's long-list for the needs and region asked."""

    partners: list[DirectoryEntry]
    next: str | None = None


class FeeView(_Body):
    """One fee entry, as the payer or the payee sees it."""

    fee_id: str
    referral_id: str
    payer: str
    payee: str
    amount: str = Field(description="decimal string, rounded to the currency's minor unit")
    currency: str
    status: Literal["pending", "approved", "settled", "reversed"]
    terms_version: int
    accrued_at: str
    approve_at: str
    basis: str
    reference: str | None = None


class FeeList(_Body):
    """The caller's fee entries as payer or payee, one page."""

    fees: list[FeeView]
    next: str | None = None


class FeeSettleInput(_Body):
    reference: str = Field(min_length=1, max_length=200, description="the payment reference")


class StatementRowBody(_Body):
    partner_id: str = Field(description="the counterparty")
    currency: str
    receivable: str
    payable: str
    net: str


class Statement(_Body):
    """Receivable, payable and net per counterparty and currency over [from, to)."""

    partner_id: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    counterparties: list[StatementRowBody]
    position: dict[str, str] = Field(
        description="net against the whole network per currency (multi-party netting)"
    )
