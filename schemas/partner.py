"""Partner profiles, published as capability updates on the ``partners`` topic (key: partner id)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from schemas.common import Capability, Contract, PartnerId, Region, UtcDatetime

__all__ = ["Certification", "PartnerKind", "PartnerProfile", "PartnerProfileInput"]

PartnerKind = Literal["reseller", "distributor", "msp", "consultant", "isv"]


class Certification(Contract):
    """A vendor certification for one capability; it stops counting at ``expires_at``."""

    vendor: str = Field(min_length=1, max_length=80)
    capability: Capability
    level: str = Field(default="certified", min_length=1, max_length=40)
    expires_at: UtcDatetime | None = None


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
    active: bool = Field(
        default=True, strict=True, description="False removes the partner from routing"
    )
