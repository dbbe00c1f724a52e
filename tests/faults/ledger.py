"""Fault-injection harness, the checker: what the referrals topic says about loss and duplication.

Pure functions over small records extracted from the ledger (``referrals`` topic), so the rules
are tested on their own (``test_ledger_checker.py``) and the fault tests only gather records.

The guarantees checked, per opportunity that was acknowledged on input:
- **offered at least once** (or declared unroutable, when the test expects that): nothing lost;
- **no partner sees a lead twice**: every offer to one partner of one opportunity carries the same
  stable referral id and the same offer round, so a redelivered offer (normal after a crash, the
  at-least-once design) is deduped by referral id and a partner never gets a *second* offer;
- **no over-offering**: a redelivery never makes the router pick a different partner, so no round
  holds more partners than ``max_partners``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["LedgerReport", "OfferRecord", "check_offers", "expiries_missing"]


@dataclass(frozen=True)
class OfferRecord:
    """One ``referral.offered`` event as read from the ledger."""

    opportunity_key: str
    partner_id: str
    referral_id: str
    round: int
    event_id: str


@dataclass
class LedgerReport:
    """Counts of one check; ``ok`` when nothing was lost, duplicated or over-offered."""

    opportunities: int = 0
    offered: int = 0
    offer_events: int = 0
    redelivered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[tuple[str, str]] = field(default_factory=list)
    wrong_referral_id: list[str] = field(default_factory=list)
    over_offered: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.wrong_referral_id
            or self.over_offered
            or self.unexpected
        )

    def figures(self) -> dict[str, int]:
        return {
            "opportunities": self.opportunities,
            "offered": self.offered,
            "offer_events": self.offer_events,
            "redelivered": self.redelivered,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "wrong_referral_id": len(self.wrong_referral_id),
            "over_offered": len(self.over_offered),
            "unexpected": len(self.unexpected),
        }

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in self.figures().items()]
        for name in ("lost", "duplicated", "wrong_referral_id", "over_offered", "unexpected"):
            sample = getattr(self, name)[:5]
            if sample:
                parts.append(f"{name} e.g. {sample}")
        return ", ".join(parts)


def check_offers(
    expected: Iterable[str],
    offers: Iterable[OfferRecord],
    *,
    referral_id_of: Callable[[str, str], str],
    max_partners: Mapping[str, int] | None = None,
    unroutable: Iterable[str] = (),
) -> LedgerReport:
    """Check the offers of every ``expected`` opportunity key.

    ``referral_id_of(opportunity_key, partner_id)`` is the stable id (``schemas.ids``);
    ``max_partners`` maps an opportunity key to its limit (default 1); opportunities listed in
    ``unroutable`` count as handled without an offer.
    """
    wanted = set(expected)
    report = LedgerReport(opportunities=len(wanted))
    rounds: dict[tuple[str, str], set[int]] = defaultdict(set)
    partners_by_round: dict[tuple[str, int], set[str]] = defaultdict(set)
    seen_events: set[str] = set()
    offered_keys: set[str] = set()
    for offer in offers:
        report.offer_events += 1
        if offer.event_id in seen_events:
            report.redelivered += 1
        seen_events.add(offer.event_id)
        if offer.opportunity_key not in wanted:
            report.unexpected.append(offer.opportunity_key)
            continue
        offered_keys.add(offer.opportunity_key)
        if offer.referral_id != referral_id_of(offer.opportunity_key, offer.partner_id):
            report.wrong_referral_id.append(offer.referral_id)
        rounds[(offer.opportunity_key, offer.partner_id)].add(offer.round)
        partners_by_round[(offer.opportunity_key, offer.round)].add(offer.partner_id)
    limits = max_partners or {}
    pairs_per_key: dict[str, int] = defaultdict(int)
    for (key, partner), seen_rounds in rounds.items():
        pairs_per_key[key] += 1
        if len(seen_rounds) > 1:
            report.duplicated.append((key, partner))
    for (key, _round), partners in partners_by_round.items():
        if len(partners) > limits.get(key, 1) and key not in report.over_offered:
            report.over_offered.append(key)
    handled = offered_keys | (set(unroutable) & wanted)
    report.offered = len(offered_keys)
    report.lost = sorted(wanted - handled)
    report.unexpected = sorted(set(report.unexpected))
    return report


def expiries_missing(offered: Iterable[str], expired: Iterable[str]) -> list[str]:
    """Referral ids offered but never expired (when nobody responds, every deadline must fire)."""
    return sorted(set(offered) - set(expired))
