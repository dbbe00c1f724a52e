"""Pure delivery policy: which ledger events a subscriber hears about, the payload, when to retry.

* :func:`lead_event_of`: an offer (teaser only), the customer revealed after acceptance, and each
  status change of the partner's own referral become ``lead.*`` events for *that* partner (the
  ``partner_id`` of the ledger event) — never for anyone else.
* :func:`fee_targets`: a fee event (accrued, approved, settled, reversed) becomes a ``fee.*`` event
  for its payer and its payee — the two parties of the referral — and nobody else, each with its
  own ``webhook_id`` (:func:`schemas.webhooks.fee_webhook_id`).
* :func:`payload`: ``{"type", "timestamp", "data"}`` (the Standard Webhooks payload shape), built
  from the ledger or fee event alone so a redelivery (or a redrive) sends the very same body;
  :func:`cloudevent_headers` adds the event's CloudEvents attributes (HTTP binding, ``ce-*``).
* :func:`verdict`: 2xx delivered; 408, 425, 429, 5xx and transport errors are retried; any other
  answer (3xx — redirects are never followed — and 4xx) is final: retrying cannot fix it.
* :class:`OffsetTracker`: which offsets may be committed when records settle out of order (per-
  partner queues): the lowest unsettled one, or one past the highest seen, so a crash never skips
  an unsettled delivery.
* :func:`backoff_s`: exponential backoff, ``base * 2**(attempt-1)`` capped, with "equal jitter"
  (half fixed, half random) so retries of many deliveries do not synchronise.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Literal

import orjson
from aiokafka import TopicPartition

from schemas.codec import Envelope, Headers, header
from schemas.common import Contract
from schemas.events import EVENT_TYPES, LeadAssembled
from schemas.fees import FeeRecorded
from schemas.referrals import (
    LeadRevealed,
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWithdrawn,
    ReferralWon,
)
from schemas.webhooks import LeadEvent, WebhookEvent, fee_webhook_id, webhook_id

__all__ = [
    "RETRYABLE_STATUSES",
    "OffsetTracker",
    "Verdict",
    "backoff_s",
    "cloudevent_headers",
    "delivery_targets",
    "fee_targets",
    "lead_event_of",
    "lead_partner",
    "payload",
    "verdict",
]

Verdict = Literal["delivered", "retry", "final"]
RETRYABLE_STATUSES = frozenset({408, 425, 429})

_LEAD_EVENTS: dict[type[Contract], LeadEvent] = {
    OfferMade: "lead.offered",
    LeadRevealed: "lead.revealed",
    ReferralAccepted: "lead.accepted",
    ReferralDeclined: "lead.declined",
    ReferralExpired: "lead.expired",
    ReferralWon: "lead.won",
    ReferralLost: "lead.lost",
    ReferralWithdrawn: "lead.withdrawn",
    LeadAssembled: "lead.assembled",  # the member's team is assembled: the other members
}


def lead_event_of(event: Contract) -> LeadEvent | None:
    """The ``lead.*`` event a ledger event is for its partner; None for anything else."""
    return _LEAD_EVENTS.get(type(event))


def lead_partner(value: bytes | None, headers: Headers | None) -> str | None:
    """The partner a ledger record would become a ``lead.*`` event for, read without validating:
    ``""`` when it cannot tell (the caller then decodes and reports the record), ``None`` when it
    is no lead event at all.

    Most ledger records concern partners without a subscription: the dispatcher skips those on
    this look (a ce_type header and one ``orjson`` parse) instead of validating each one in full
    (measured ~65 µs for an offer, more than routing it; docs/performance.md).
    """
    ce_type = header(headers, "ce_type")
    if ce_type is None or value is None:
        return ""
    model = EVENT_TYPES.get(ce_type)
    if model is None:
        return ""
    if model not in _LEAD_EVENTS:
        return None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return ""
    partner = data.get("partner_id") if isinstance(data, dict) else None
    return partner if isinstance(partner, str) and partner else ""


def fee_targets(event: Contract) -> list[tuple[str, WebhookEvent, str]]:
    """``(partner, fee.<kind>, webhook_id)`` for the payer and the payee of a fee event."""
    if not isinstance(event, FeeRecorded):
        return []
    kind: WebhookEvent = _FEE_EVENTS[event.kind]
    return [
        (event.payer, kind, fee_webhook_id(event.event_id, "payer")),
        (event.payee, kind, fee_webhook_id(event.event_id, "payee")),
    ]


_FEE_EVENTS: dict[str, WebhookEvent] = {
    "accrued": "fee.accrued",
    "approved": "fee.approved",
    "settled": "fee.settled",
    "reversed": "fee.reversed",
}


def delivery_targets(event: Contract) -> list[tuple[str, WebhookEvent, str]]:
    """``(partner, event, webhook_id)`` of each delivery a ledger or fee event calls for."""
    if isinstance(event, FeeRecorded):
        return fee_targets(event)
    kind = lead_event_of(event)
    partner_id: str | None = getattr(event, "partner_id", None)
    referral_id: str | None = getattr(event, "referral_id", None)
    if kind is None or partner_id is None or referral_id is None:
        return []
    return [(partner_id, kind, webhook_id(referral_id, kind))]


def cloudevent_headers(envelope: Envelope) -> dict[str, str]:
    """The CloudEvents HTTP binding attributes of the event a delivery is about."""
    return {
        "ce-specversion": "1.0",
        "ce-id": envelope.id,
        "ce-source": envelope.source,
        "ce-type": envelope.type,
        "ce-time": envelope.time.isoformat().replace("+00:00", "Z"),
    }


def payload(kind: WebhookEvent, event: Contract, occurred_at: datetime) -> bytes:
    """The JSON body POSTed to the subscriber."""
    return orjson.dumps(
        {
            "type": kind,
            "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
            "data": event.model_dump(mode="json"),
        }
    )


def verdict(status: int | None) -> Verdict:
    """What an attempt's answer means (``None``: no answer — timeout or connection error)."""
    if status is None:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    if status >= 500 or status in RETRYABLE_STATUSES:
        return "retry"
    return "final"


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Delay before attempt ``attempt + 1`` (``attempt`` >= 1 failed so far)."""
    delay = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return float(delay / 2 + rng.uniform(0, delay / 2))


class OffsetTracker:
    def __init__(self) -> None:
        self._pending: dict[TopicPartition, set[int]] = {}
        self._high: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def seen(self, tp: TopicPartition, offset: int) -> None:
        self._pending.setdefault(tp, set()).add(offset)
        self._high[tp] = max(self._high.get(tp, -1), offset)

    def settle(self, tp: TopicPartition, offset: int) -> None:
        pending = self._pending.get(tp)
        if pending is not None:
            pending.discard(offset)

    def forget(self, tps: set[TopicPartition]) -> None:
        """Partitions revoked in a rebalance: their records are someone else's now."""
        for tp in tps:
            self._pending.pop(tp, None)
            self._high.pop(tp, None)
            self._committed.pop(tp, None)

    def to_commit(self) -> dict[TopicPartition, int]:
        """Offsets that moved since the last call to :meth:`committed`."""
        out: dict[TopicPartition, int] = {}
        for tp, high in self._high.items():
            pending = self._pending.get(tp)
            position = min(pending) if pending else high + 1
            if position > self._committed.get(tp, -1):
                out[tp] = position
        return out

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def committed_offsets(self) -> dict[TopicPartition, int]:
        return dict(self._committed)

    def pending(self) -> int:
        return sum(len(p) for p in self._pending.values())
