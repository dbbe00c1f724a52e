"""The fee ledger derived from the referral log (pure): what the fee keeper appends and what
``oppbus fees verify`` recomputes.

:class:`FeeBook` folds the ``referrals`` topic (offers with the terms they carried; won and lost
outcomes with their CloudEvents ids) and the ``fees`` topic (the events already recorded). For
every referral whose offer carried terms, :meth:`FeeBook.due` is ``missing(plan(...), recorded)``
as of ``now``: the only fee events to append. Everything is keyed by derived ids, so folding the
same record twice, in another process or after a crash, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from schemas.fees import FeeRecorded
from schemas.referrals import OfferMade, ReferralLost, ReferralWon
from schemas.terms import Terms
from streams.fees.ledger import FeeEvent, OutcomeSeen, missing, plan

__all__ = [
    "FEE_INPUT_TYPES",
    "Difference",
    "FeeBook",
    "Referred",
    "event_of",
    "record_of",
    "wanted",
]


# The referral-ledger events the fee book reads (CloudEvents ``ce_type`` header values).
FEE_INPUT_TYPES = frozenset(
    f"io.oppbus.referral.{verb}.v1".encode() for verb in ("offered", "won", "lost")
)


_OFFERED = b"io.oppbus.referral.offered.v1"
# An offer made without terms, as the router writes it (orjson, no spaces): the book keeps no
# referral for it. The byte string can only be the event's own ``terms`` field: inside a JSON
# string every quote is escaped, and no other object of an offer has a ``terms`` key.
_NO_TERMS = b'"terms":null'


def wanted(headers: Sequence[tuple[str, bytes]], value: bytes) -> bool:
    """Whether a ``referrals`` record is one the fee book reads, from its type and bytes alone
    (the rest is passed over before its MAC check and decode): most of the ledger (accepted,
    declined, revealed, ...) is not about fees, nor is an offer made without terms."""
    ce_type = next((v for k, v in headers if k == "ce_type"), None)
    if ce_type not in FEE_INPUT_TYPES:
        return False
    return not (ce_type == _OFFERED and _NO_TERMS in value)


@dataclass
class Referred:
    """One referral made under terms: who pays whom, and its outcomes in log order."""

    referral_id: str
    opportunity_id: str
    originator: str  # the payee: it shared the referral
    receiver: str  # the payer
    terms: Terms
    outcomes: list[OutcomeSeen] = field(default_factory=list)


@dataclass(frozen=True)
class Difference:
    referral_id: str
    detail: str


@dataclass
class FeeBook:
    referrals: dict[str, Referred] = field(default_factory=dict)
    recorded: dict[str, FeeRecorded] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # referrals to look at on the next due()
    approvals: dict[str, datetime] = field(default_factory=dict)  # referral -> window end

    # --- folding ---------------------------------------------------------------------------

    def on_referral(self, event: object, event_id: str) -> None:
        """A record of the ``referrals`` topic (``event_id``: its CloudEvents id)."""
        if isinstance(event, OfferMade):
            if event.terms is not None and event.referral_id not in self.referrals:
                self.referrals[event.referral_id] = Referred(
                    event.referral_id,
                    event.opportunity_id,
                    event.originator,
                    event.partner_id,
                    event.terms,
                )
            return
        if not isinstance(event, ReferralWon | ReferralLost):
            return
        referred = self.referrals.get(event.referral_id)
        if referred is None or any(o.event_id == event_id for o in referred.outcomes):
            return  # no terms on this referral, or a redelivered outcome
        if isinstance(event, ReferralWon):
            seen = OutcomeSeen(
                event_id, "won", event.won_at, event.amount.amount, event.amount.currency
            )
        else:
            seen = OutcomeSeen(event_id, "lost", event.lost_at)
        referred.outcomes.append(seen)
        self.touched.add(event.referral_id)

    def on_fee(self, record: FeeRecorded) -> None:
        """A record of the ``fees`` topic."""
        self.recorded.setdefault(record.event_id, record)

    # --- deciding --------------------------------------------------------------------------

    def planned(self, referral_id: str, now: datetime) -> list[FeeEvent]:
        r = self.referrals[referral_id]
        return list(
            plan(
                referral_id=r.referral_id,
                payer=r.receiver,
                payee=r.originator,
                terms=r.terms,
                outcomes=r.outcomes,
                now=now,
            ).events
        )

    def due(self, now: datetime) -> list[FeeRecorded]:
        """The fee events to append now: new outcomes, and approvals whose window has ended."""
        ripe = {rid for rid, at in self.approvals.items() if at <= now}
        out: list[FeeRecorded] = []
        for rid in sorted(self.touched | ripe):
            r = self.referrals[rid]
            planned = self.planned(rid, now)
            for event in missing(planned, self.recorded):
                record = record_of(event, r.opportunity_id, r.originator)
                self.recorded[record.event_id] = record  # the caller publishes it (or crashes)
                out.append(record)
            self.approvals.pop(rid, None)
            waiting = [e for e in planned if e.kind == "accrued"]
            if waiting and not any(e.kind == "approved" for e in planned):
                self.approvals[rid] = waiting[-1].approve_at
        self.touched.clear()
        return out

    def verify(self, now: datetime) -> list[Difference]:
        """Every referral whose recorded fees differ from those recomputed from the log.

        Accruals and reversals must match exactly (ids, amounts, currency, parties, terms
        version); an approval due but not yet recorded is not a difference (the timer appends
        it), an approval recorded before its window ended is; settlements are the payee's word.
        """
        by_referral: dict[str, dict[str, FeeRecorded]] = {}
        for record in self.recorded.values():
            by_referral.setdefault(record.referral_id, {})[record.event_id] = record
        out: list[Difference] = []
        for rid in sorted(set(self.referrals) | set(by_referral)):
            have = by_referral.get(rid, {})
            if rid not in self.referrals:
                out.append(
                    Difference(rid, f"{len(have)} fee event(s) for a referral without terms")
                )
                continue
            r = self.referrals[rid]
            want = {e.event_id: e for e in self.planned(rid, now) if e.kind != "approved"}
            problems = [f"missing {eid}" for eid in sorted(set(want) - set(have))]
            for eid, record in sorted(have.items()):
                if record.kind == "settled":
                    continue
                if record.kind == "approved":
                    if record.at < record.approve_at or record.at > now:
                        problems.append(f"{eid} approved before its window ended")
                    continue
                expected = want.get(eid)
                if expected is None:
                    problems.append(f"unexpected {eid}")
                elif _facts(record) != _facts(record_of(expected, r.opportunity_id, r.originator)):
                    problems.append(f"{eid} differs: {_facts(record)} != recomputed")
            if problems:
                out.append(Difference(rid, "; ".join(problems)))
        return out


def _facts(r: FeeRecorded) -> tuple[object, ...]:
    return (r.fee_id, r.kind, r.payer, r.payee, r.amount, r.currency, r.terms_version)


def record_of(event: FeeEvent, opportunity_id: str, originator: str) -> FeeRecorded:
    """The bus record of a fee event."""
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


def event_of(record: FeeRecorded) -> FeeEvent:
    """The ledger's fee event of a bus record."""
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
