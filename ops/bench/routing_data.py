"""Realistic generated partner directories and opportunities for ``oppbus bench routing``.

Shape (seeded, reproducible): 15 capabilities with a skewed popularity (networking and security
common, iot rare); 60 regions = 12 countries weighted by market size (the US a third of all
partners) + 48 subdivisions. A partner offers 1-4 capabilities, serves its whole home country
(45 %) or 1-3 of its subdivisions, sometimes a second country; about half hold a certification
(expiring within two years, some already expired; 70 % verified by the operator), 92 % accept referrals, capacity 3-40, 8 % name
competitors, 3 % refuse partners. Opportunities: 1-2 needs, mostly a subdivision, 5 % with a consent
scope, 10 % requiring a certification; stats give every partner a history and some open offers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from schemas.opportunity import Opportunity
from schemas.partner import Certification, PartnerProfile
from streams.routing import PartnerStats, RoutingStats

__all__ = [
    "CAPABILITIES",
    "NOW",
    "REGIONS",
    "active_partners",
    "opportunities",
    "partner_ids",
    "profiles",
    "stats",
]

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

# 15 capabilities with relative popularity among partners
CAPABILITIES: dict[str, int] = {
    "networking": 14, "security": 14, "cloud": 12, "storage": 9, "compute": 9,
    "backup": 8, "managed-services": 8, "professional-services": 7, "licensing": 6,
    "collaboration": 5, "end-user-computing": 5, "observability": 3, "data-analytics": 3,
    "disaster-recovery": 3, "iot": 2,
}  # fmt: skip

# 12 countries (share of partners, %) with their 48 subdivisions: 60 region codes
COUNTRIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "US": (33, ("CA", "NY", "TX", "FL", "IL", "WA", "MA", "GA", "NJ", "VA", "PA", "OH", "CO", "NC", "AZ")),
    "GB": (10, ("ENG", "SCT", "WLS", "NIR")),
    "DE": (10, ("BY", "BW", "NW", "HE", "BE", "HH")),
    "FR": (7, ("IDF", "ARA", "PAC", "OCC")),
    "CA": (6, ("ON", "QC", "BC", "AB")),
    "IN": (6, ("MH",)),
    "AU": (5, ("NSW", "VIC", "QLD", "WA")),
    "JP": (5, ("13", "27", "23")),
    "BR": (5, ("SP",)),
    "NL": (5, ("NH", "ZH")),
    "ES": (4, ("MD", "CT")),
    "IT": (4, ("LM", "RM")),
}  # fmt: skip
REGIONS: tuple[str, ...] = tuple(
    code for c, (_w, subs) in COUNTRIES.items() for code in (c, *(f"{c}-{s}" for s in subs))
)
VENDORS = ("NetApp", "Dell", "Cisco", "Palo Alto", "Microsoft", "AWS", "VMware", "HPE")
# codes of the industry vocabulary (schemas/industries.py), as the API accepts them
INDUSTRIES = (
    "healthcare",
    "retail",
    "financial-services",
    "manufacturing",
    "government",
    "education",
)
KINDS = ("reseller", "distributor", "msp", "consultant", "isv")

_CAPS = tuple(CAPABILITIES)
_CAP_W = tuple(CAPABILITIES.values())
_COUNTRY = tuple(COUNTRIES)
_COUNTRY_W = tuple(w for w, _s in COUNTRIES.values())


def partner_ids(n: int) -> list[str]:
    return [f"p{i:06d}" for i in range(n)]


def _capabilities(rng: random.Random) -> tuple[str, ...]:
    k = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
    caps: set[str] = set()
    while len(caps) < k:
        caps.add(rng.choices(_CAPS, weights=_CAP_W)[0])
    return tuple(sorted(caps))


def _regions(rng: random.Random) -> tuple[str, ...]:
    home = rng.choices(_COUNTRY, weights=_COUNTRY_W)[0]
    subs = COUNTRIES[home][1]
    if rng.random() < 0.45:
        regions = {home}
    else:
        regions = {f"{home}-{s}" for s in rng.sample(subs, min(len(subs), rng.randint(1, 3)))}
    if rng.random() < 0.15:
        regions.add(rng.choices(_COUNTRY, weights=_COUNTRY_W)[0])
    return tuple(sorted(regions))


def profiles(n: int, seed: int = 7) -> Iterator[PartnerProfile]:
    """``n`` partner profiles (ids ``p000000``...), one capability update each."""
    rng = random.Random(seed)
    ids = partner_ids(n)
    for pid in ids:
        caps = _capabilities(rng)
        certs = tuple(
            Certification(
                vendor=rng.choice(VENDORS),
                capability=c,
                expires_at=NOW + timedelta(days=rng.randint(-60, 730)),
                status="verified" if rng.random() < 0.7 else "claimed",
            )
            for c in caps
            if rng.random() < 0.35
        )
        yield PartnerProfile(
            partner_id=pid,
            name=f"Partner {pid}",
            kind=rng.choice(KINDS),
            capabilities=caps,
            certifications=certs,
            regions=_regions(rng),
            accepting=rng.random() < 0.92,
            capacity=rng.randint(3, 40),
            competitors=tuple(rng.sample(ids, rng.randint(1, 3))) if rng.random() < 0.08 else (),
            refuses=tuple(rng.sample(ids, 1)) if rng.random() < 0.03 else (),
            industries=tuple(rng.sample(INDUSTRIES, rng.randint(0, 2))),
            version=1,
            updated_at=NOW - timedelta(days=rng.randint(0, 365)),
        )


def stats(n: int, seed: int = 11) -> RoutingStats:
    """A history for every partner, and reciprocity for a few thousand pairs."""
    rng = random.Random(seed)
    ids = partner_ids(n)
    partners: dict[str, PartnerStats] = {}
    for pid in ids:
        received = rng.randint(0, 60)
        accepted = rng.randint(0, received)
        declined = rng.randint(0, received - accepted)
        won = rng.randint(0, accepted)
        partners[pid] = PartnerStats(
            offers_received=received,
            accepted=accepted,
            declined=declined,
            expired=received - accepted - declined,
            won=won,
            lost=rng.randint(0, accepted - won),
            mean_s_to_accept=rng.uniform(300, 5 * 86_400) if accepted else None,
            open_offers=rng.randint(0, 6),
        )
    pairs = {(rng.choice(ids), rng.choice(ids)): rng.randint(1, 8) for _ in range(min(n, 5000))}
    return RoutingStats(partners, pairs)


def active_partners(
    opportunities: list[Opportunity], n_partners: int, each: int, seed: int = 17
) -> dict[str, frozenset[str]]:
    """``each`` active partnerships (random partners) for every originator of ``opportunities``."""
    rng = random.Random(seed)
    ids = partner_ids(n_partners)
    originators = sorted({o.originator for o in opportunities})
    return {o: frozenset(rng.sample(ids, min(each, len(ids)))) for o in originators}


def opportunities(n: int, n_partners: int, seed: int = 13) -> list[Opportunity]:
    rng = random.Random(seed)
    ids = partner_ids(n_partners)
    out: list[Opportunity] = []
    for i in range(n):
        needs = sorted(
            {rng.choices(_CAPS, weights=_CAP_W)[0] for _ in range(rng.choice((1, 1, 2)))}
        )
        country = rng.choices(_COUNTRY, weights=_COUNTRY_W)[0]
        subs = COUNTRIES[country][1]
        region = country if rng.random() < 0.3 else f"{country}-{rng.choice(subs)}"
        required = (
            ({"vendor": rng.choice(VENDORS), "capability": needs[0]},) if rng.random() < 0.1 else ()
        )
        out.append(
            Opportunity.model_validate(
                {
                    "opportunity_id": f"opp-{i}",
                    "originator": rng.choice(ids),
                    "needs": needs,
                    "region": region,
                    "industry": rng.choice(INDUSTRIES),
                    "deal_size": {"amount": "120000.00", "currency": "USD"},
                    "expected_close": date(2027, 3, 31),
                    "customer": {"company": "Customer", "domain": f"customer{i}.example.com"},
                    "share_with": rng.sample(ids, 20) if rng.random() < 0.05 else None,
                    "requires_certification": required,
                    "published_at": NOW,
                }
            )
        )
    return out


def team_opportunities(n: int, n_partners: int, seed: int = 17) -> list[Opportunity]:
    """Opportunities of three different needs asking for a team (``oppbus bench routing``)."""
    rng = random.Random(seed)
    out: list[Opportunity] = []
    for i, base in enumerate(opportunities(n, n_partners, seed)):
        needs: set[str] = set()
        while len(needs) < 3:
            needs.add(rng.choices(_CAPS, weights=_CAP_W)[0])
        update = {
            "opportunity_id": f"team-{i}",
            "needs": tuple(sorted(needs)),
            "team": True,
            "share_with": None,
            "requires_certification": (),
        }
        out.append(base.model_copy(update=update))
    return out
