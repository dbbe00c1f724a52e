"""The read model of the commercial layer (pure): partnerships, network terms, the fee ledger.

Applied by :meth:`connectors.http.views.Views.apply` from the ``partnerships`` and ``fees``
topics. A partnership record carries its whole state: the highest ``revision`` wins, so a replayed
or reordered record changes nothing. Fee events are kept once per ``event_id`` (a repeated append
counts once) and each fee's state is folded from its events (``streams.fees.ledger.fold``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas.fees import FeeRecorded
from schemas.partnership import NetworkTerms, Partnership
from streams.fees.book import event_of
from streams.fees.ledger import FeeEvent, FeeState, fold
from streams.partnerships.book import PartnershipBook

__all__ = ["CommerceView", "fee_body"]


@dataclass
class CommerceView(PartnershipBook):
    """The partnerships (:class:`PartnershipBook`) and the fee ledger."""

    fee_records: dict[str, FeeRecorded] = field(default_factory=dict)
    fee_events: dict[str, list[FeeEvent]] = field(default_factory=dict)
    fees: dict[str, FeeState] = field(default_factory=dict)
    fees_by_partner: dict[str, set[str]] = field(default_factory=dict)

    def apply(self, event: Partnership | NetworkTerms | FeeRecorded) -> bool:
        if not isinstance(event, FeeRecorded):
            return super().apply(event)
        if event.event_id in self.fee_records:
            return False
        self.fee_records[event.event_id] = event
        events = self.fee_events.setdefault(event.fee_id, [])
        events.append(event_of(event))
        self.fees.update(fold(events))
        for side in (event.payer, event.payee):
            self.fees_by_partner.setdefault(side, set()).add(event.fee_id)
        return True

    def fees_of(self, partner_id: str | None) -> list[FeeState]:
        """``partner_id``'s fees as payer or payee (every fee for the operator), oldest first."""
        ids: Iterable[str] = (
            self.fees.keys() if partner_id is None else self.fees_by_partner.get(partner_id, ())
        )
        return sorted((self.fees[i] for i in ids), key=lambda f: (f.accrued_at, f.fee_id))


def fee_body(fee: FeeState) -> dict[str, Any]:
    return {
        "fee_id": fee.fee_id,
        "referral_id": fee.referral_id,
        "payer": fee.payer,
        "payee": fee.payee,
        "amount": format(fee.amount, "f"),
        "currency": fee.currency,
        "status": fee.status,
        "terms_version": fee.terms_version,
        "accrued_at": fee.accrued_at.isoformat(),
        "approve_at": fee.approve_at.isoformat(),
        "basis": fee.basis,
        "reference": fee.reference,
    }
