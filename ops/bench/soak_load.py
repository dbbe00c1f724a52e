"""The soak benchmark's synthetic traffic: storage partners, opportunities, and partners' answers.

Each opportunity has its own customer domain (no conflicts) and needs storage in ``US-CA``; the
originator is a networking reseller, so every seeded storage partner is eligible.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from schemas.common import Contract, Money
from schemas.opportunity import Customer, Opportunity, OpportunityWithdrawn
from schemas.partner import PartnerProfile
from schemas.referrals import AcceptReferral, OfferMade, ReportOutcome

__all__ = ["ORIGINATOR", "answers", "opportunity", "partners"]

ORIGINATOR = "soak-origin"


def partners(count: int) -> list[PartnerProfile]:
    now = datetime.now(UTC)
    specs: list[tuple[str, tuple[str, ...]]] = [
        (f"soak-store-{i:03d}", ("storage", "backup")) for i in range(count)
    ]
    specs.append((ORIGINATOR, ("networking",)))
    return [
        PartnerProfile(
            partner_id=pid,
            name=pid,
            kind="reseller",
            capabilities=caps,
            regions=("US",),
            capacity=100_000,
            version=1,
            updated_at=now,
        )
        for pid, caps in specs
    ]


def opportunity(run_id: str, index: int) -> Opportunity:
    return Opportunity(
        opportunity_id=f"{run_id}-{index:07d}",
        originator=ORIGINATOR,
        needs=("storage",),
        retains=("networking",),
        region="US-CA",
        industry="healthcare",
        deal_size=Money(amount=Decimal("50000.00"), currency="USD"),
        expected_close=date.today() + timedelta(days=90),
        customer=Customer(company=f"Customer {index}", domain=f"c{index}-{run_id}.example.com"),
        published_at=datetime.now(UTC),
    )


def answers(offer: OfferMade, close: str) -> list[Contract]:
    """What the partners do with an offer: accept and win it, or the originator withdraws."""
    now = datetime.now(UTC)
    about = {
        "referral_id": offer.referral_id,
        "opportunity_id": offer.opportunity_id,
        "originator": offer.originator,
        "partner_id": offer.partner_id,
        "requested_at": now,
    }
    if close == "win":
        won = Money(amount=Decimal("50000.00"), currency="USD")
        return [AcceptReferral(**about), ReportOutcome(**about, status="won", amount=won)]
    if close == "withdraw":
        return [
            OpportunityWithdrawn(
                opportunity_id=offer.opportunity_id, originator=offer.originator, withdrawn_at=now
            )
        ]
    return []
