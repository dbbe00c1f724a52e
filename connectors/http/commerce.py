"""The read model of the commercial layer (pure): partnerships, network terms, the fee ledger.

Applied by :meth:`connectors.http.views.Views.apply` from the ``partnerships`` and ``fees``
topics. A partnership record carries its whole state: the highest ``revision`` wins, so a replayed
or reordered record changes nothing. Fee events are kept once per ``event_id`` (a repeated append
counts once) and each fee's state is folded from its events (``streams.fees.ledger.fold``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.fees import FeeRecorded
from schemas.partnership import NetworkTerms, Partnership
from schemas.terms import Terms
from streams.fees.ledger import FeeEvent, FeeState, fold
from streams.partnerships.machine import in_force

__all__ = ["CommerceView", "fee_event_of", "fee_record_of"]


def fee_event_of(record: FeeRecorded) -> FeeEvent:
    return FeeEvent(
        event_id=record.event_id,
        fee_id=record.fee_id,
        kind=record.kind,
        at=record.at,
        referral_id=record.referral_id,
        payer=record.payer,
        payee=record.payee,
        amount=record.amount,
        currency=record.currency,
        terms_version=record.terms_version,
        approve_at=record.approve_at,
        basis=record.basis,
        reference=record.reference,
        reason=record.reason,
    )


def fee_record_of(event: FeeEvent, *, opportunity_id: str, originator: str) -> FeeRecorded:
    return FeeRecorded(
        event_id=event.event_id,
        fee_id=event.fee_id,
        kind=event.kind,
        at=event.at,
        referral_id=event.referral_id,
        opportunity_id=opportunity_id,
        originator=originator,
        payer=event.payer,
        payee=event.payee,
        amount=event.amount,
        currency=event.currency,
        terms_version=event.terms_version,
        approve_at=event.approve_at,
        basis=event.basis[:300],
        reference=event.reference,
        reason=event.reason,
    )


@dataclass
class CommerceView:
    partnerships: dict[str, Partnership] = field(default_factory=dict)
    by_partner: dict[str, set[str]] = field(default_factory=dict)
    network: NetworkTerms | None = None
    fee_records: dict[str, FeeRecorded] = field(default_factory=dict)
    fee_events: dict[str, list[FeeEvent]] = field(default_factory=dict)
    fees: dict[str, FeeState] = field(default_factory=dict)
    fees_by_partner: dict[str, set[str]] = field(default_factory=dict)

    def apply(self, event: Partnership | NetworkTerms | FeeRecorded) -> None:
        if isinstance(event, Partnership):
            current = self.partnerships.get(event.partnership_id)
            if current is None or event.revision > current.revision:
                self.partnerships[event.partnership_id] = event
                for side in (event.proposer, event.partner):
                    self.by_partner.setdefault(side, set()).add(event.partnership_id)
        elif isinstance(event, NetworkTerms):
            if self.network is None or event.revision > self.network.revision:
                self.network = event
        elif event.event_id not in self.fee_records:
            self.fee_records[event.event_id] = event
            events = self.fee_events.setdefault(event.fee_id, [])
            events.append(fee_event_of(event))
            self.fees.update(fold(events))
            for side in (event.payer, event.payee):
                self.fees_by_partner.setdefault(side, set()).add(event.fee_id)

    # --- reads -----------------------------------------------------------------------------

    def partnerships_of(self, partner_id: str | None) -> list[Partnership]:
        """``partner_id``'s partnerships (every one for the operator, ``None``), by id."""
        ids = (
            self.partnerships.keys() if partner_id is None else self.by_partner.get(partner_id, ())
        )
        return sorted((self.partnerships[i] for i in ids), key=lambda p: p.partnership_id)

    def live_between(self, a: str, b: str) -> Partnership | None:
        """The proposed or active partnership between two partners, if any."""
        for pid in self.by_partner.get(a, ()):
            p = self.partnerships[pid]
            if p.status != "ended" and {p.proposer, p.partner} == {a, b}:
                return p
        return None

    def terms_between(self, originator: str, receiver: str) -> Terms | None:
        """The terms in force for a referral from ``originator`` to ``receiver`` right now."""
        terms = in_force(self.live_between(originator, receiver))
        if terms is not None:
            return terms
        return self.network.terms if self.network is not None else None

    def fees_of(self, partner_id: str | None) -> list[FeeState]:
        ids: Iterable[str] = (
            self.fees.keys() if partner_id is None else self.fees_by_partner.get(partner_id, ())
        )
        return sorted((self.fees[i] for i in ids), key=lambda f: (f.accrued_at, f.fee_id))
