"""Ledger events -> :class:`LedgerFact`, and the compact form facts travel in between the stages.

The ``referrals`` topic is keyed by opportunity; a partner's figures need every fact about that
partner in one place, so each fact is re-published on the internal ``scorecard-facts`` topic twice,
keyed by the giver and by the receiver. On that topic a value is one JSON array::

    [role, referral_id, giver, receiver, status, at_epoch_seconds, amount|null, currency|null]

(``role`` is ``"g"`` or ``"r"``: which of the two partners the copy is for). Ledger events that do
not move a referral (lead revealed, conflict flagged, unroutable) are skipped before their body is
parsed; an invalid ledger event is reported to the caller (the ledger's owner dead-letters it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from schemas.codec import Headers, decode, header
from schemas.common import Contract
from schemas.referrals import (
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWithdrawn,
    ReferralWon,
)
from streams.scorecards.fold import STATUSES, LedgerFact, Role, Status

__all__ = [
    "LEDGER_TYPES",
    "decode_fact",
    "encode_fact",
    "fact_from_record",
    "fact_of",
    "routed_copies",
]

LEDGER_TYPES = frozenset(
    f"io.oppbus.referral.{status}.v1" for status in STATUSES
)  # the ledger events a scorecard folds; every other type on the topic is skipped unparsed

_ROLE_CODE: dict[Role, str] = {"giver": "g", "receiver": "r"}
_ROLE_OF: dict[str, Role] = {"g": "giver", "r": "receiver"}


def fact_of(event: Contract) -> LedgerFact | None:
    """The fact of one decoded ledger event; None for events that do not move a referral."""
    status: Status
    at: datetime
    if isinstance(event, OfferMade):
        status, at = "offered", event.offered_at
    elif isinstance(event, ReferralAccepted):
        status, at = "accepted", event.accepted_at
    elif isinstance(event, ReferralDeclined):
        status, at = "declined", event.declined_at
    elif isinstance(event, ReferralExpired):
        status, at = "expired", event.expired_at
    elif isinstance(event, ReferralLost):
        status, at = "lost", event.lost_at
    elif isinstance(event, ReferralWithdrawn):
        status, at = "withdrawn", event.withdrawn_at
    elif isinstance(event, ReferralWon):
        return LedgerFact(
            event.referral_id,
            event.originator,
            event.partner_id,
            "won",
            event.won_at.timestamp(),
            format(event.amount.amount, "f"),
            event.amount.currency,
        )
    else:
        return None
    return LedgerFact(event.referral_id, event.originator, event.partner_id, status, at.timestamp())


def fact_from_record(value: bytes | None, headers: Headers | None) -> LedgerFact | None:
    """The fact of one ``referrals`` record, or None when its type is not folded.

    Raises :class:`schemas.errors.InvalidEvent` for a ledger record that does not decode."""
    if header(headers, "ce_type") not in LEDGER_TYPES:
        return None
    envelope = decode(value or b"", headers)
    return fact_of(envelope.event)


def routed_copies(fact: LedgerFact) -> list[tuple[bytes, bytes]]:
    """The (key, value) records of ``fact`` on the partner-keyed topic: one per partner involved.

    A referral to its own originator cannot happen (routing excludes the originator); if one ever
    appears it is folded once, as received, so the two views cannot overwrite each other."""
    copies = [(fact.receiver.encode(), encode_fact(fact, "receiver"))]
    if fact.giver != fact.receiver:
        copies.append((fact.giver.encode(), encode_fact(fact, "giver")))
    return copies


def encode_fact(fact: LedgerFact, role: Role) -> bytes:
    return orjson.dumps([_ROLE_CODE[role], fact.referral_id, fact.giver, fact.receiver,
                         fact.status, fact.at, fact.amount, fact.currency])  # fmt: skip


def decode_fact(value: bytes | None) -> tuple[Role, LedgerFact]:
    """Parse one ``scorecard-facts`` value; ValueError when it is not one."""
    try:
        data: Any = orjson.loads(value or b"")
        role_code, referral, giver, receiver, status, at, amount, currency = data
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"not a scorecard fact: {exc}") from None
    if (
        not isinstance(role_code, str)
        or role_code not in _ROLE_OF
        or not isinstance(status, str)
        or status not in STATUSES
        or isinstance(at, bool)
        or not isinstance(at, int | float)
    ):
        raise ValueError("not a scorecard fact: bad role, status or time")
    if not all(isinstance(s, str) and s for s in (referral, giver, receiver)):
        raise ValueError("not a scorecard fact: bad ids")
    if (amount is None) != (currency is None) or (amount is not None and status != "won"):
        raise ValueError("not a scorecard fact: amount and currency go together, on won only")
    return _ROLE_OF[role_code], LedgerFact(referral, giver, receiver, status, float(at),
                                           amount, currency)  # fmt: skip
