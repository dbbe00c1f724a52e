"""Opportunities: a customer need a partner shares with the bus (``opportunities`` topic)."""

from __future__ import annotations

from pydantic import Field, model_validator

from schemas.common import (
    Capability,
    Contract,
    IsoDate,
    Money,
    OpportunityId,
    PartnerId,
    Region,
    UtcDatetime,
)

__all__ = [
    "CertificationRequirement",
    "Contact",
    "Customer",
    "Opportunity",
    "OpportunityInput",
    "OpportunityWithdrawn",
    "normalise_domain",
]


def normalise_domain(domain: str) -> str:
    """``https://www.Acme.com/`` -> ``acme.com``: the key of conflict detection."""
    d = domain.strip().lower()
    for prefix in ("https://", "http://"):
        d = d.removeprefix(prefix)
    d = d.split("/", 1)[0].split(":", 1)[0].rstrip(".")
    return d.removeprefix("www.")


class Contact(Contract):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
    )
    phone: str | None = Field(default=None, max_length=40)
    role: str | None = Field(default=None, max_length=100)


class Customer(Contract):
    """Private: revealed to a partner only after it accepts the referral."""

    company: str = Field(min_length=1, max_length=200)
    domain: str = Field(
        min_length=3, max_length=253, pattern=r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/.*)?$"
    )
    contacts: tuple[Contact, ...] = Field(default=(), max_length=20)

    @property
    def normalised_domain(self) -> str:
        return normalise_domain(self.domain)


class CertificationRequirement(Contract):
    """An offered partner must hold an unexpired certification of this vendor for the capability."""

    vendor: str = Field(min_length=1, max_length=80)
    capability: Capability


class OpportunityInput(Contract):
    """The body of ``POST /v1/opportunities`` (fixed field names, DESIGN.md)."""

    opportunity_id: OpportunityId | None = None
    needs: tuple[Capability, ...] = Field(min_length=1, max_length=16)
    retains: tuple[Capability, ...] | None = Field(
        default=None, description="capabilities the originator keeps; default: all it offers"
    )
    region: Region
    industry: str = Field(min_length=1, max_length=80)
    deal_size: Money
    expected_close: IsoDate
    customer: Customer
    share_with: tuple[PartnerId, ...] | None = Field(
        default=None, description="consent scope: only these partners may be offered it"
    )
    partners_only: bool = Field(
        default=False,
        strict=True,
        description="offer it only to partners with an active partnership with the originator",
    )
    max_partners: int = Field(strict=True, default=1, ge=1, le=10)
    respond_within_s: int | None = Field(strict=True, default=None, ge=1, le=30 * 86_400)
    requires_certification: tuple[CertificationRequirement, ...] = Field(default=(), max_length=16)
    title: str | None = Field(default=None, max_length=200)
    team: bool = Field(
        default=False,
        strict=True,
        description="route it to a team: the smallest set of compatible partners that together "
        "cover every need, each owning a role (needs at least two needs)",
    )

    @model_validator(mode="after")
    def _needs_not_retained(self) -> OpportunityInput:
        if self.team and len(set(self.needs)) < 2:
            raise ValueError("team: a team needs at least two needs")
        if self.retains is not None:
            both = sorted(set(self.needs) & set(self.retains))
            if both:
                raise ValueError(f"retains: overlaps needs: {', '.join(both)}")
        for i, req in enumerate(self.requires_certification):
            if req.capability not in self.needs:
                raise ValueError(
                    f"requires_certification.{i}.capability: {req.capability!r} is not in needs"
                )
        return self


class Opportunity(OpportunityInput):
    """An opportunity as published on the bus (id and originator always set)."""

    opportunity_id: OpportunityId
    originator: PartnerId
    published_at: UtcDatetime


class OpportunityWithdrawn(Contract):
    """The originator withdraws its opportunity: open offers are cancelled."""

    opportunity_id: OpportunityId
    originator: PartnerId
    reason: str | None = Field(default=None, max_length=500)
    withdrawn_at: UtcDatetime
