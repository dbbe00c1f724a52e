"""The referral lifecycle as pure functions (DESIGN.md "Lifecycle").

    offered  -> accepted | declined(reason) | expired | withdrawn
    accepted -> won(amount, currency) | lost(reason) | withdrawn
    declined, expired, won, lost, withdrawn: closed (no way out)

``apply(referral, command)`` never mutates and never raises for a domain problem: it returns
``Applied`` (the new referral), ``Unchanged`` (a repeat of what already happened: idempotent, emit
nothing) or ``Rejected`` (an illegal transition, with a reason a partner can read; change nothing).
The Faust agents only call it and emit what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "CLOSED",
    "OPEN",
    "Applied",
    "Command",
    "Outcome",
    "Referral",
    "Rejected",
    "Status",
    "Unchanged",
    "apply",
]


class Status(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WON = "won"
    LOST = "lost"
    WITHDRAWN = "withdrawn"


# A referral is "open" while it holds a slot of the opportunity (counts toward max_partners).
OPEN = frozenset({Status.OFFERED, Status.ACCEPTED})
CLOSED = frozenset(Status) - OPEN

CommandKind = Literal["accept", "decline", "expire", "won", "lost", "withdraw"]

_TARGET: dict[str, Status] = {
    "accept": Status.ACCEPTED,
    "decline": Status.DECLINED,
    "expire": Status.EXPIRED,
    "won": Status.WON,
    "lost": Status.LOST,
    "withdraw": Status.WITHDRAWN,
}

# Which statuses each command may start from.
_ALLOWED_FROM: dict[str, frozenset[Status]] = {
    "accept": frozenset({Status.OFFERED}),
    "decline": frozenset({Status.OFFERED}),
    "expire": frozenset({Status.OFFERED}),
    "won": frozenset({Status.ACCEPTED}),
    "lost": frozenset({Status.ACCEPTED}),
    "withdraw": frozenset({Status.OFFERED, Status.ACCEPTED}),
}


@dataclass(frozen=True)
class Referral:
    """One offer of one opportunity to one partner, and what became of it."""

    referral_id: str
    opportunity_key: str
    partner_id: str
    status: Status
    offered_at: float
    expires_at: float
    updated_at: float
    score: float = 0.0
    reasons: tuple[Any, ...] = ()
    rank: int = 1
    round: int = 1
    reason: str | None = None
    note: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    accepted_at: float | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def due(self, now: float) -> bool:
        """An offer whose response deadline has passed."""
        return self.status is Status.OFFERED and self.expires_at <= now


@dataclass(frozen=True)
class Command:
    """A request to move a referral: from its partner (accept/decline/won/lost), the originator
    (withdraw) or the deadline timer (expire)."""

    kind: CommandKind
    at: float
    reason: str | None = None
    note: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Applied:
    referral: Referral
    previous: Status


@dataclass(frozen=True)
class Unchanged:
    referral: Referral
    why: str


@dataclass(frozen=True)
class Rejected:
    referral: Referral
    reason: str


Outcome = Applied | Unchanged | Rejected


def _validate(referral: Referral, command: Command) -> str | None:
    if command.kind == "won":
        if command.amount is None or command.currency is None:
            return "a won outcome needs an amount and a currency"
        if command.amount < 0:
            return "a won amount cannot be negative"
    if command.kind == "decline" and not (command.reason or "").strip():
        return "a decline needs a reason"
    if command.kind == "expire" and command.at < referral.expires_at:
        return "the offer has not reached its deadline"
    return None


def _same_repeat(referral: Referral, command: Command) -> bool:
    """The referral is already where this command would take it, with the same details."""
    if referral.status is not _TARGET[command.kind]:
        return False
    if command.kind == "won":
        return referral.amount == command.amount and referral.currency == command.currency
    return True


def apply(referral: Referral, command: Command) -> Outcome:
    """The outcome of ``command`` on ``referral`` (pure; the referral itself is never modified)."""
    if _same_repeat(referral, command):
        return Unchanged(referral, f"already {referral.status.value}")
    if referral.status not in _ALLOWED_FROM[command.kind]:
        if command.kind == "expire":
            # The deadline timer raced a response: the response won, nothing to expire.
            return Unchanged(referral, f"not offered any more ({referral.status.value})")
        target = _TARGET[command.kind].value
        return Rejected(
            referral,
            f"cannot move referral {referral.referral_id} from {referral.status.value} to {target}"
            f" (allowed from: {', '.join(sorted(s.value for s in _ALLOWED_FROM[command.kind]))})",
        )
    problem = _validate(referral, command)
    if problem is not None:
        if command.kind == "expire":
            return Unchanged(referral, problem)
        return Rejected(referral, problem)
    target = _TARGET[command.kind]
    changed = replace(
        referral,
        status=target,
        updated_at=command.at,
        reason=command.reason if command.kind in ("decline", "lost", "withdraw") else None,
        note=command.note if command.kind in ("decline", "lost") else None,
        amount=command.amount if command.kind == "won" else referral.amount,
        currency=command.currency if command.kind == "won" else referral.currency,
        accepted_at=command.at if target is Status.ACCEPTED else referral.accepted_at,
    )
    return Applied(changed, referral.status)
