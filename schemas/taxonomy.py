"""The capability taxonomy: what partners offer and opportunities need.

Codes are lowercase slugs. The built-in list below is the documented default; deployments extend it
with :func:`register_capabilities` (e.g. from ``OPPBUS_EXTRA_CAPABILITIES``, comma-separated) before
any event is validated.
"""

from __future__ import annotations

import re

__all__ = [
    "CAPABILITIES",
    "CODE_PATTERN",
    "check_capability",
    "known_capabilities",
    "parse_capabilities",
    "register_capabilities",
]

# code -> what it covers
CAPABILITIES: dict[str, str] = {
    "storage": "Primary storage: SAN, NAS, all-flash and hybrid arrays, object storage",
    "backup": "Backup, recovery and data protection software and appliances",
    "networking": "LAN/WAN switching, routing, wireless, SD-WAN",
    "security": "Firewalls, endpoint, identity, SIEM/SOC",
    "cloud": "Public cloud resale, migration and management (AWS, Azure, GCP)",
    "compute": "Servers, hyperconverged infrastructure, virtualisation",
    "collaboration": "Unified communications, contact centre, video",
    "data-center": "Racks, power, cooling, colocation",
    "managed-services": "24x7 monitoring and operations of customer estates (MSP)",
    "professional-services": "Design, implementation and migration projects",
    "licensing": "Software licensing and renewals (EA, CSP, SPLA)",
    "end-user-computing": "Laptops, desktops, VDI, device management",
    "observability": "Monitoring, logging and APM",
    "data-analytics": "Data platforms, warehousing, BI and AI/ML services",
    "disaster-recovery": "DR planning, replication and DRaaS",
    "iot": "Industrial and building IoT, edge devices",
    "voice": "Telephony, SIP trunking, mobile",
    "printing": "Managed print services",
}

_known: set[str] = set(CAPABILITIES)


CODE_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"


def parse_capabilities(codes: str | list[str]) -> list[str]:
    """Capability codes from a comma-separated string or a list; ValueError names bad ones."""
    items = codes.split(",") if isinstance(codes, str) else codes
    cleaned = [c.strip().lower() for c in items if c.strip()]
    bad = [c for c in cleaned if not re.match(CODE_PATTERN, c)]
    if bad:
        raise ValueError(f"not capability codes (lowercase slugs, 2-40 chars): {', '.join(bad)}")
    return cleaned


def register_capabilities(codes: str | list[str]) -> None:
    """Extend the taxonomy (comma-separated string or list of codes)."""
    _known.update(parse_capabilities(codes))


def known_capabilities() -> frozenset[str]:
    return frozenset(_known)


def check_capability(code: str) -> str:
    if code not in _known:
        raise ValueError(f"unknown capability {code!r}; known: {', '.join(sorted(_known))}")
    return code
