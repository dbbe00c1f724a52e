"""Ledger events -> :class:`LedgerFact`, and the compact form facts travel in between the stages.

The ``referrals`` topic is keyed by opportunity; a partner's figures need every fact about that
partner in one place, so each fact is re-published on the internal ``scorecard-facts`` topic twice,
keyed by the giver and by the receiver. The facts of one input batch are packed per partner: a
value is a JSON array of facts, in ledger order, each one array::

    [role, referral_id, giver, receiver, status, at_epoch_seconds, amount|null, currency|null]

(``role`` is ``"g"`` or ``"r"``: which of the two partners the copy is for). Packing matters: each
record a Faust agent consumes costs far more than folding a fact, so a busy partner's facts of one
batch travel as one record (measured: see ``oppbus bench scorecards``). Ledger events that do
not move a referral (lead revealed, conflict flagged, unroutable) are skipped before their body is
parsed; an invalid ledger event is reported to the caller (the ledger's owner dead-letters it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from schemas.teams import LeadAssembled
from streams.scorecards.fold import STATUSES, TEAMED, LedgerFact, Role, Status

__all__ = [
    "LEDGER_TYPES",
    "PACK_MAX",
    "fact_from_record",
    "fact_from_trusted",
    "fact_of",
    "facts_from_record",
    "pack",
    "routed_packs",
    "unpack",
]

LEDGER_TYPES = frozenset(
    f"io.oppbus.referral.{status}.v1" for status in STATUSES
)  # the ledger events a scorecard folds; every other type on the topic is skipped unparsed
ASSEMBLED_TYPE = "io.oppbus.lead.assembled.v1"  # a member's team assembled: member-member pairs

# Most facts in one record: keeps a record well under Kafka's 1 MiB default (a fact is ~150 bytes)
# and lets a fact's position be ``offset * PACK_MAX + index``, increasing along a partition.
PACK_MAX = 1000

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


def facts_from_record(
    value: bytes | None, headers: Headers | None, *, trusted: bool = False
) -> list[LedgerFact]:
    """:func:`fact_from_record` (:func:`fact_from_trusted` for a record whose MAC was checked),
    and for a member's ``lead.assembled`` one ``teamed`` fact per other member (the member as
    giver; each member's own event gives its side)."""
    if header(headers, "ce_type") != ASSEMBLED_TYPE:
        fact = (fact_from_trusted if trusted else fact_from_record)(value, headers)
        return [] if fact is None else [fact]
    event = decode(value or b"", headers).event
    assert isinstance(event, LeadAssembled)
    at = event.assembled_at.timestamp()
    return [
        LedgerFact(
            f"{event.referral_id}.{m.partner_id}", event.partner_id, m.partner_id, TEAMED, at
        )
        for m in event.members
    ]


# ce_type -> (the fact's status, the field holding its time)
_STATUS_AT: dict[str, tuple[Status, str]] = {
    f"io.oppbus.referral.{status}.v1": (status, f"{status}_at") for status in STATUSES
}


def fact_from_trusted(value: bytes | None, headers: Headers | None) -> LedgerFact | None:
    """:func:`fact_from_record` for a record the bus wrote as it is (its MAC checked first): the
    fact's fields are read straight from the JSON body instead of validating the whole event
    again (the record was validated when it was encoded). A body that does not read as
    expected takes the validating path, so an invalid record is still reported the same way."""
    ce_type = header(headers, "ce_type")
    if ce_type not in LEDGER_TYPES:
        return None
    try:
        data = orjson.loads(value or b"")
        status, field = _STATUS_AT[ce_type]
        at = datetime.fromisoformat(data[field])
        ids = data["referral_id"], data["originator"], data["partner_id"]
        amount = currency = None
        if status == "won":
            money = data["amount"]
            amount, currency = money["amount"], money["currency"]
            if not (isinstance(amount, str) and isinstance(currency, str)):
                raise TypeError("amount")
        if at.tzinfo is None or not all(isinstance(i, str) and i for i in ids):
            raise TypeError("time or ids")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return fact_from_record(value, headers)
    return LedgerFact(ids[0], ids[1], ids[2], status, at.timestamp(), amount, currency)


def routed_packs(facts: Iterable[LedgerFact]) -> list[tuple[bytes, bytes]]:
    """The ``scorecard-facts`` records of ``facts``: per partner involved, one record (key: the
    partner id) with its copies in order.

    A referral to its own originator cannot happen (routing excludes the originator); if one ever
    appears it is folded once, as received, so the two views cannot overwrite each other."""
    by_partner: dict[str, list[tuple[Role, LedgerFact]]] = {}
    for fact in facts:
        if fact.status != TEAMED:  # a teamed fact is its giver's only
            by_partner.setdefault(fact.receiver, []).append(("receiver", fact))
        if fact.giver != fact.receiver:
            by_partner.setdefault(fact.giver, []).append(("giver", fact))
    return [
        (partner.encode(), pack(copies[i : i + PACK_MAX]))
        for partner, copies in by_partner.items()
        for i in range(0, len(copies), PACK_MAX)
    ]


def pack(copies: Sequence[tuple[Role, LedgerFact]]) -> bytes:
    return orjson.dumps(
        [
            [_ROLE_CODE[role], f.referral_id, f.giver, f.receiver, f.status, f.at, f.amount,
             f.currency]
            for role, f in copies
        ]
    )  # fmt: skip


def unpack(value: bytes | None) -> list[tuple[Role, LedgerFact]]:
    """Parse one ``scorecard-facts`` value; ValueError when it is not one."""
    try:
        data: Any = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not scorecard facts: {exc}") from None
    if not isinstance(data, list) or not 0 < len(data) <= PACK_MAX:
        raise ValueError(f"not scorecard facts: not a list of 1 to {PACK_MAX}")
    return [_unpack_one(item) for item in data]


def _unpack_one(item: Any) -> tuple[Role, LedgerFact]:
    if not isinstance(item, list):
        raise ValueError("not a scorecard fact: not a list")
    try:
        role_code, referral, giver, receiver, status, at, amount, currency = item
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a scorecard fact: {exc}") from None
    if (
        not isinstance(role_code, str)
        or role_code not in _ROLE_OF
        or not isinstance(status, str)
        or (status not in STATUSES and status != TEAMED)
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
