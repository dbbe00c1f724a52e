"""Partner profiles, published as capability updates on the ``partners`` topic (key: partner id)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from schemas.common import Capability, Contract, PartnerId, Region, UtcDatetime
from schemas.opportunity import Contact

__all__ = [
    "Certification",
    "CertificationStatus",
    "PartnerKind",
    "PartnerProfile",
    "PartnerProfileInput",
]

PartnerKind = Literal["reseller", "distributor", "msp", "consultant", "isv"]
CertificationStatus = Literal["claimed", "verified"]


class Certification(Contract):
    """A vendor certification for one capability; it stops counting at ``expires_at``.

    ``status``: ``claimed`` as the partner states it; ``verified`` once the operator checked it
    (``POST /v1/admin/partners/{partner_id}/certifications/verify``). Only a verified
    certification satisfies an opportunity's ``requires_certification`` and counts in the
    certification factor of the ranking; a partner cannot verify its own.
    """

    vendor: str = Field(min_length=1, max_length=80)
    capability: Capability
    level: str = Field(default="certified", min_length=1, max_length=40)
    expires_at: UtcDatetime | None = None
    status: CertificationStatus = "claimed"

    def same_claim(self, other: Certification) -> bool:
        """The same statement (vendor, capability, level, expiry), whatever its status."""
        return (
            self.vendor.lower() == other.vendor.lower()
            and self.capability == other.capability
            and self.level == other.level
            and self.expires_at == other.expires_at
        )


class PartnerProfileInput(Contract):
    """The profile body of ``PUT /v1/partners/{partner_id}`` (fixed field names, DESIGN.md)."""

    name: str = Field(min_length=1, max_length=200)
    kind: PartnerKind
    capabilities: tuple[Capability, ...] = Field(min_length=1, max_length=64)
    certifications: tuple[Certification, ...] = Field(default=(), max_length=256)
    regions: tuple[Region, ...] = Field(min_length=1, max_length=300)
    accepting: bool = Field(default=True, strict=True)
    capacity: int = Field(
        strict=True, default=10, ge=0, le=100_000, description="max open offers at once"
    )
    competitors: tuple[PartnerId, ...] = Field(default=(), max_length=1000)
    refuses: tuple[PartnerId, ...] = Field(default=(), max_length=1000)
    industries: tuple[str, ...] = Field(default=(), max_length=50)
    listed: bool = Field(
        default=True,
        strict=True,
        description="shown to other partners in the directory look-up (GET /v1/directory)",
    )
    contact: Contact | None = Field(
        default=None,
        description="the partner's business contact: shown, when it is the prime of a team, to "
        "each member that accepted its role; never in the directory",
    )

    @model_validator(mode="after")
    def _certified_capabilities_are_offered(self) -> PartnerProfileInput:
        offered = set(self.capabilities)
        for i, cert in enumerate(self.certifications):
            if cert.capability not in offered:
                raise ValueError(
                    f"certifications.{i}.capability: {cert.capability!r} is not in capabilities"
                )
        return self


class PartnerProfile(PartnerProfileInput):
    """A capability update as it travels on the bus: last writer wins by ``version``."""

    partner_id: PartnerId
    version: int = Field(
        strict=True, ge=0, description="monotonic per partner; stale updates are ignored"
    )
    updated_at: UtcDatetime
    capacity_cap: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=100_000,
        description="the operator's cap on capacity (routing uses the smaller); partners cannot "
        "set it",
    )
    active: bool = Field(
        default=True, strict=True, description="False removes the partner from routing"
    )
