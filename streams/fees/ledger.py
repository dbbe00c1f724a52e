"""The fee ledger of one referral: append-only entries derived from its outcomes (pure).

Entries are never edited or deleted. A won referral under terms with a fee accrues one entry
(``pending``); it becomes ``approved`` when the approval window after the *first* win has passed
(event time); a corrected outcome inside the window appends a ``reversed`` event for the fee in
force and, where the correction is a new won amount, a new entry (its window ends where the first
one's did, so corrections cannot stretch it); an outcome after the window changes nothing and is
reported as too late. ``settled`` is the payee's word that it was paid, with a reference, allowed
only once the fee is approved.

Exactly once: every event's identity is derived from what caused it (the fee id from the referral
and the outcome event that accrued it), so ``missing(planned, recorded)`` is empty however often
the outcomes are redelivered, replayed or the worker crashed between two appends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from schemas.terms import Terms
from streams.fees.amount import FeeDue, fee_due

__all__ = [
    "FeeEvent",
    "FeeState",
    "OutcomeSeen",
    "Plan",
    "fee_id_of",
    "fold",
    "missing",
    "plan",
    "settle",
]

FeeEventKind = Literal["accrued", "approved", "settled", "reversed"]
FeeStatus = Literal["pending", "approved", "settled", "reversed"]


@dataclass(frozen=True)
class OutcomeSeen:
    """A won or lost outcome of the referral, as recorded on the ledger (in log order)."""

    event_id: str
    kind: Literal["won", "lost"]
    at: datetime
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class FeeEvent:
    """One append to the fee ledger. ``event_id`` is unique and derived (idempotent appends)."""

    event_id: str
    fee_id: str
    kind: FeeEventKind
    at: datetime
    referral_id: str
    payer: str
    payee: str
    amount: Decimal
    currency: str
    terms_version: int
    approve_at: datetime
    basis: str = ""
    reference: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FeeState:
    """A fee entry as it stands after its events."""

    fee_id: str
    referral_id: str
    payer: str
    payee: str
    amount: Decimal
    currency: str
    terms_version: int
    status: FeeStatus
    accrued_at: datetime
    approve_at: datetime
    basis: str
    reference: str | None = None
    settled_at: datetime | None = None
    reversed_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """Every fee event the referral's outcomes call for up to ``now``, and what came too late."""

    events: tuple[FeeEvent, ...]
    too_late: tuple[OutcomeSeen, ...]
    no_fee: tuple[str, ...]  # why a won outcome accrued nothing (no terms, nothing due, ...)


def fee_id_of(referral_id: str, outcome_event_id: str) -> str:
    digest = hashlib.sha256(f"{referral_id}\x00{outcome_event_id}".encode()).hexdigest()
    return f"fee_{digest[:20]}"


def _event(kind: FeeEventKind, base: FeeEvent, at: datetime, reason: str | None = None) -> FeeEvent:
    return replace(base, event_id=f"{base.fee_id}.{kind}", kind=kind, at=at, reason=reason)


def plan(
    *,
    referral_id: str,
    payer: str,
    payee: str,
    terms: Terms | None,
    outcomes: Sequence[OutcomeSeen],
    now: datetime,
) -> Plan:
    """The fee events ``outcomes`` (in log order) call for under ``terms``, as of ``now``."""
    events: list[FeeEvent] = []
    late: list[OutcomeSeen] = []
    no_fee: list[str] = []
    window_end: datetime | None = None
    active: FeeEvent | None = None
    for outcome in outcomes:
        if window_end is not None and outcome.at > window_end:
            late.append(outcome)
            continue
        due = _due(terms, outcome)
        if active is not None and isinstance(due, FeeDue) and _same(active, due):
            continue  # a repeat of the won outcome in force: nothing changes
        if window_end is None and outcome.kind == "won" and terms is not None:
            window_end = outcome.at + timedelta(days=terms.approval_days)
        if active is not None:
            events.append(_event("reversed", active, outcome.at, reason=f"outcome {outcome.kind}"))
            active = None
        if isinstance(due, str):
            if outcome.kind == "won":
                no_fee.append(due)
            continue
        assert terms is not None and window_end is not None
        fee_id = fee_id_of(referral_id, outcome.event_id)
        active = FeeEvent(
            event_id=f"{fee_id}.accrued",
            fee_id=fee_id,
            kind="accrued",
            at=outcome.at,
            referral_id=referral_id,
            payer=payer,
            payee=payee,
            amount=due.amount,
            currency=due.currency,
            terms_version=terms.version,
            approve_at=window_end,
            basis=due.basis,
        )
        events.append(active)
    if active is not None and window_end is not None and now >= window_end:
        events.append(_event("approved", active, window_end))
    return Plan(tuple(events), tuple(late), tuple(no_fee))


def _due(terms: Terms | None, outcome: OutcomeSeen) -> FeeDue | str:
    if outcome.kind == "lost":
        return "lost"
    if terms is None:
        return "no terms with a fee on this referral"
    if outcome.amount is None or outcome.currency is None:
        return "a won outcome without an amount"
    due = fee_due(terms, outcome.amount, outcome.currency)
    return due if isinstance(due, FeeDue) else due.reason


def _same(active: FeeEvent, due: FeeDue) -> bool:
    return (active.amount, active.currency) == (due.amount, due.currency)


def missing(planned: Iterable[FeeEvent], recorded_ids: Iterable[str]) -> list[FeeEvent]:
    """The planned events not on the ledger yet (the only ones to append)."""
    have = set(recorded_ids)
    return [e for e in planned if e.event_id not in have]


def fold(events: Iterable[FeeEvent]) -> dict[str, FeeState]:
    """Every fee entry's current state from its events (in any order: the states only advance)."""
    order = {"accrued": 0, "approved": 1, "settled": 2, "reversed": 3}
    fees: dict[str, FeeState] = {}
    for e in sorted(events, key=lambda e: (e.fee_id, order[e.kind])):
        fee = fees.get(e.fee_id)
        if fee is None:
            fee = fees[e.fee_id] = FeeState(
                fee_id=e.fee_id,
                referral_id=e.referral_id,
                payer=e.payer,
                payee=e.payee,
                amount=e.amount,
                currency=e.currency,
                terms_version=e.terms_version,
                status="pending",
                accrued_at=e.at,
                approve_at=e.approve_at,
                basis=e.basis,
            )
        if e.kind == "approved" and fee.status == "pending":
            fees[e.fee_id] = replace(fee, status="approved")
        elif e.kind == "settled" and fee.status == "approved":
            fees[e.fee_id] = replace(fee, status="settled", reference=e.reference, settled_at=e.at)
        elif e.kind == "reversed":
            fees[e.fee_id] = replace(fee, status="reversed", reversed_at=e.at)
    return fees


def settle(fee: FeeState, *, by: str, reference: str, at: datetime) -> FeeEvent | str:
    """The payee's confirmation that ``fee`` was paid, or why it cannot be settled (409/403)."""
    if by != fee.payee:
        return "only the payee can settle a fee"
    if fee.status == "settled" and fee.reference != reference:
        return f"already settled with another reference ({fee.reference})"
    if fee.status not in ("approved", "settled"):
        return f"a {fee.status} fee cannot be settled (approved on {fee.approve_at.date()})"
    return FeeEvent(
        event_id=f"{fee.fee_id}.settled",
        fee_id=fee.fee_id,
        kind="settled",
        at=fee.settled_at or at,  # settling again with the same reference: the same event
        referral_id=fee.referral_id,
        payer=fee.payer,
        payee=fee.payee,
        amount=fee.amount,
        currency=fee.currency,
        terms_version=fee.terms_version,
        approve_at=fee.approve_at,
        basis=fee.basis,
        reference=reference,
    )
