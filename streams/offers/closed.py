"""Closed opportunities: a compact marker instead of the full routing row, kept for a retention.

An opportunity is *closed* when none of its referrals is open (offered or accepted): every one is
won, lost, declined, expired or withdrawn, or there never was one (unroutable, rejected) — but not
while it waits for a partner or for the operator's decision on a conflict. Only a reroute by its
originator reopens it (exhausted or unroutable), and that request carries the opportunity again. Its row then no longer
needs the original opportunity (about 2 KB: customer, deal, teaser) nor the ranking explanations
of its offers; it only has to answer the inputs that can still arrive exactly as before:

* the opportunity published again: nothing to replay (no open referral), nothing published;
* a withdrawal: nothing open to withdraw, nothing published;
* a response to one of its referrals: the same answer as the full row (``respond`` on the
  marker's referrals) — a repeat replays the very same event (same id, same times and details),
  anything else is refused with the same reason; a response from another partner is refused as
  an unknown referral.

So the marker keeps, per referral, the partner (the referral id is derived from it), the status and
what the status event carries (time, reason, note, amount, currency). Encoded as one short JSON
array; the opportunity key itself is the table key. After ``closed_retention_s`` the marker is
deleted (a tombstone on the changelog): the opportunity is then forgotten, so publishing it again
routes it again and a late response is refused as about an unknown opportunity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from schemas.ids import referral_id, split_opportunity_key
from streams.ledger.machine import Referral, Status
from streams.offers.lifecycle import OpportunityState

__all__ = ["compact", "decode_marker", "encode_marker", "is_closed"]


# Phases with nothing open that still need the opportunity: a waiting one is routed when somebody
# can take it, a conflict-flagged one when the operator says so.
_PENDING_PHASES = frozenset({"waiting", "conflict"})


def is_closed(state: OpportunityState) -> bool:
    """Nothing open any more, and nothing reopens it but a reroute (which carries the
    opportunity again, see ``schemas/lifecycle.py``)."""
    return state.phase not in _PENDING_PHASES and not any(r.open for r in state.referrals)


def _slim(r: Referral) -> Referral:
    return Referral(
        referral_id=r.referral_id,
        opportunity_key=r.opportunity_key,
        partner_id=r.partner_id,
        status=r.status,
        offered_at=0.0,
        expires_at=0.0,
        updated_at=r.updated_at,
        reason=r.reason,
        note=r.note,
        amount=r.amount,
        currency=r.currency,
    )


def compact(state: OpportunityState) -> OpportunityState:
    """The closed ``state`` as its marker holds it (what :func:`decode_marker` gives back)."""
    return OpportunityState(
        key=state.key,
        originator=state.originator,
        opportunity_id=state.opportunity_id,
        max_partners=state.max_partners,
        ttl_s=0.0,
        phase=state.phase,
        referrals=tuple(_slim(r) for r in state.referrals),
    )


def encode_marker(state: OpportunityState) -> bytes:
    """``[phase, max_partners, [[partner, status, updated_at, reason, note, amount, currency]]]``."""
    refs: list[list[Any]] = []
    for r in state.referrals:
        item: list[Any] = [r.partner_id, r.status.value, r.updated_at, r.reason, r.note]
        if r.amount is not None or r.currency is not None:
            item += [None if r.amount is None else str(r.amount), r.currency]
        while item[-1] is None:  # trailing nulls are implied
            item.pop()
        refs.append(item)
    return orjson.dumps([state.phase, state.max_partners, refs])


def decode_marker(key: str, body: bytes) -> OpportunityState:
    """The compact state of the closed opportunity ``key`` from its marker ``body``."""
    phase, max_partners, refs = orjson.loads(body)
    originator, opportunity_id = split_opportunity_key(key)
    referrals = []
    for item in refs:
        partner, status, updated_at, *rest = item
        rest += [None] * (4 - len(rest))
        reason, note, amount, currency = rest
        referrals.append(
            Referral(
                referral_id=referral_id(originator, opportunity_id, partner),
                opportunity_key=key,
                partner_id=partner,
                status=Status(status),
                offered_at=0.0,
                expires_at=0.0,
                updated_at=float(updated_at),
                reason=reason,
                note=note,
                amount=None if amount is None else Decimal(amount),
                currency=currency,
            )
        )
    return OpportunityState(
        key=key,
        originator=originator,
        opportunity_id=opportunity_id,
        max_partners=int(max_partners),
        ttl_s=0.0,
        phase=phase,
        referrals=tuple(referrals),
    )
