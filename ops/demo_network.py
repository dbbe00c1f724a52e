"""The seeded partner network and opportunities of ``oppbus demo`` (plain data, no I/O).

A networking VAR in California meets a storage need at a hospital group and shares it. Around it:
two storage specialists (the ones that should get the offer), an MSP and a distributor that also sell
networking (so they would compete with the VAR and are left out), and a competitor pair — a
storage reseller that the VAR lists as a competitor (and vice versa), left out too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = [
    "ORIGINATOR",
    "PARTNERS",
    "DemoPartner",
    "network",
    "storage_opportunity",
    "unroutable_opportunity",
]

ORIGINATOR = "northwind-networks"


@dataclass(frozen=True)
class DemoPartner:
    partner_id: str
    role: str  # one line for the progress output
    profile: dict[str, Any]


def _cert(vendor: str, capability: str, level: str, years: int = 2) -> dict[str, Any]:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365 * years)
    return {
        "vendor": vendor,
        "capability": capability,
        "level": level,
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }


def _profile(
    name: str,
    kind: str,
    capabilities: list[str],
    regions: list[str],
    *,
    certifications: list[dict[str, Any]] | None = None,
    competitors: list[str] | None = None,
    capacity: int = 10,
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "capabilities": capabilities,
        "certifications": certifications or [],
        "regions": regions,
        "accepting": True,
        "capacity": capacity,
        "competitors": competitors or [],
        "refuses": [],
    }


PARTNERS: tuple[DemoPartner, ...] = (
    DemoPartner(
        ORIGINATOR,
        "networking VAR, shares the storage lead",
        _profile(
            "Northwind Networks",
            "reseller",
            ["networking", "security", "collaboration"],
            ["US-CA", "US-OR", "US-WA"],
            certifications=[_cert("Cisco", "networking", "gold")],
            competitors=["wingtip-storage"],
        ),
    ),
    DemoPartner(
        "contoso-storage",
        "storage specialist",
        _profile(
            "Contoso Storage Solutions",
            "reseller",
            ["storage", "backup", "disaster-recovery"],
            ["US"],
            certifications=[
                _cert("NetApp", "storage", "gold"),
                _cert("Veeam", "backup", "platinum"),
            ],
        ),
    ),
    DemoPartner(
        "fabrikam-data",
        "storage specialist",
        _profile(
            "Fabrikam Data Systems",
            "consultant",
            ["storage", "backup", "data-analytics"],
            ["US-CA", "US-NV"],
            certifications=[_cert("NetApp", "storage", "silver")],
        ),
    ),
    DemoPartner(
        "tailspin-msp",
        "MSP that also sells networking",
        _profile(
            "Tailspin Managed Services",
            "msp",
            ["managed-services", "backup", "storage", "networking"],
            ["US"],
            certifications=[_cert("NetApp", "storage", "certified")],
        ),
    ),
    DemoPartner(
        "adatum-distribution",
        "distributor of everything",
        _profile(
            "Adatum Distribution",
            "distributor",
            ["storage", "backup", "networking", "compute", "licensing"],
            ["US", "CA", "MX"],
            certifications=[_cert("NetApp", "storage", "distributor")],
            capacity=100,
        ),
    ),
    DemoPartner(
        "wingtip-storage",
        "storage reseller, the VAR's competitor",
        _profile(
            "Wingtip Storage",
            "reseller",
            ["storage", "backup"],
            ["US-CA"],
            certifications=[_cert("NetApp", "storage", "gold")],
            competitors=[ORIGINATOR],
        ),
    ),
)


def storage_opportunity(opportunity_id: str, tag: str = "") -> dict[str, Any]:
    """The story's lead: primary storage and backup for a hospital group's new campus network.

    ``tag`` varies the customer's domain: the same customer and need again within the conflict
    window would (rightly) be flagged as already registered and not routed."""
    domain = f"fabrikam-health-{tag}.example.com" if tag else "fabrikam-health.example.com"
    return {
        "opportunity_id": opportunity_id,
        "title": "Storage refresh alongside a campus network upgrade",
        "needs": ["storage", "backup"],
        "retains": ["networking", "security"],
        "region": "US-CA",
        "industry": "healthcare",
        "deal_size": {"amount": "250000.00", "currency": "USD"},
        "expected_close": (date.today() + timedelta(days=120)).isoformat(),
        "customer": {
            "company": "Fabrikam Health",
            "domain": domain,
            "contacts": [
                {
                    "name": "Dana Lee",
                    "email": "dana.lee@fabrikam-health.example.com",
                    "role": "IT director",
                }
            ],
        },
        "requires_certification": [{"vendor": "NetApp", "capability": "storage"}],
        "max_partners": 1,
        "respond_within_s": 86_400,
    }


def unroutable_opportunity(opportunity_id: str, tag: str = "") -> dict[str, Any]:
    """A managed-print need in Oregon nobody in this network covers: it waits for a partner."""
    return {
        "opportunity_id": opportunity_id,
        "title": "Managed print for a law firm",
        "needs": ["printing"],
        "region": "US-OR",
        "industry": "legal",
        "deal_size": {"amount": "18000.00", "currency": "USD"},
        "expected_close": (date.today() + timedelta(days=60)).isoformat(),
        "customer": {
            "company": "Trey Research LLP",
            "domain": f"treyresearch-{tag}.example.com" if tag else "treyresearch.example.com",
        },
    }


def network(tag: str = "") -> tuple[DemoPartner, ...]:
    """The partners, with ``-tag`` appended to every id (also in competitor lists) when given,
    so the demo can run again on a bus that already has them."""
    if not tag:
        return PARTNERS

    def rename(pid: str) -> str:
        return f"{pid}-{tag}"

    return tuple(
        DemoPartner(
            rename(p.partner_id),
            p.role,
            {**p.profile, "competitors": [rename(c) for c in p.profile["competitors"]]},
        )
        for p in PARTNERS
    )
