"""Small builders of valid partner profiles and opportunities for the routing tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.opportunity import Opportunity
from schemas.partner import Certification, PartnerProfile
from streams.routing import PartnerDirectory

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def profile(
    partner_id: str,
    capabilities: tuple[str, ...] = ("storage",),
    regions: tuple[str, ...] = ("US",),
    *,
    version: int = 1,
    updated_at: datetime = T0,
    **fields: Any,
) -> PartnerProfile:
    return PartnerProfile(
        partner_id=partner_id,
        name=partner_id.title(),
        kind=fields.pop("kind", "reseller"),
        capabilities=capabilities,
        regions=regions,
        version=version,
        updated_at=updated_at,
        **fields,
    )


def cert(
    capability: str,
    vendor: str = "NetApp",
    expires_at: datetime | None = None,
    status: str = "verified",
) -> Certification:
    return Certification.model_validate(
        {"vendor": vendor, "capability": capability, "expires_at": expires_at, "status": status}
    )


def opportunity(
    originator: str = "origin",
    needs: tuple[str, ...] = ("storage",),
    region: str = "US-CA",
    *,
    opportunity_id: str = "opp-1",
    **fields: Any,
) -> Opportunity:
    return Opportunity(
        opportunity_id=opportunity_id,
        originator=originator,
        needs=needs,
        region=region,
        industry=fields.pop("industry", "healthcare"),
        deal_size={"amount": "250000.00", "currency": "USD"},
        expected_close=date(2027, 3, 31),
        customer=fields.pop(
            "customer", {"company": "Acme Health", "domain": "https://www.acme-health.com/"}
        ),
        published_at=fields.pop("published_at", T0 + timedelta(hours=1)),
        **fields,
    )


def directory(*profiles: PartnerProfile) -> PartnerDirectory:
    d = PartnerDirectory()
    for p in profiles:
        d.apply(p)
    return d


# the originator of most tests: a networking reseller in the US
ORIGIN = profile("origin", ("networking", "security"), ("US",))
