"""Outbound webhooks: a partner's subscription and the delivery record of each lead event.

``webhooks`` (compacted, key ``partner_id``): the latest :class:`WebhookSubscription` of a partner —
endpoint URL, Standard Webhooks signing secret (``whsec_`` + base64), which lead events it wants.
The topic carries the secret the dispatcher signs with: restrict it like the ``credentials`` topic.

``webhook-deliveries`` (compacted, key ``webhook_id``): one :class:`WebhookDelivery` per settled
delivery — delivered, or given up (dead letter) — with every attempt. It is the delivery log per lead
and the dispatcher's memory of what a receiver already got: a ``webhook_id`` is
``<referral_id>.<event>`` (:func:`webhook_id`), the same on every redelivery, so receivers dedupe.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints, field_validator

from schemas.common import Contract, OpportunityId, PartnerId, UtcDatetime
from schemas.ids import REFERRAL_ID_PATTERN

__all__ = [
    "LEAD_EVENTS",
    "DeliveryAttempt",
    "LeadEvent",
    "WebhookDelivery",
    "WebhookSubscription",
    "webhook_id",
]

# What a subscriber can be told about one of its leads.
LeadEvent = Literal[
    "lead.offered", "lead.revealed", "lead.accepted", "lead.declined", "lead.expired",
    "lead.won", "lead.lost", "lead.withdrawn", "lead.assembled",
]  # fmt: skip
LEAD_EVENTS: tuple[LeadEvent, ...] = get_args(LeadEvent)

WebhookId = Annotated[str, StringConstraints(pattern=r"^ref_[0-9a-f]{20}\.[a-z]+$")]
Secret = Annotated[str, StringConstraints(pattern=r"^whsec_[A-Za-z0-9+/]{32,128}={0,2}$")]


def webhook_id(referral_id: str, event: str) -> str:
    """``ref_… .offered``: stable per referral and event, so a redelivery carries the same id."""
    return f"{referral_id}.{event.removeprefix('lead.')}"


class WebhookSubscription(Contract):
    """A partner's webhook endpoint; ``active=False`` stops deliveries (the record stays)."""

    partner_id: PartnerId
    url: str = Field(min_length=8, max_length=2000)
    secret: Secret
    events: tuple[LeadEvent, ...] = Field(default=LEAD_EVENTS, min_length=1, max_length=9)
    active: bool = Field(default=True, strict=True)
    version: int = Field(
        strict=True, ge=0, description="monotonic per partner; stale records are ignored"
    )
    updated_at: UtcDatetime

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")):
            raise ValueError("the endpoint must be an http(s) URL")
        return value


class DeliveryAttempt(Contract):
    """One POST to the endpoint: its HTTP status, or the error when there was no answer."""

    at: UtcDatetime
    status: int | None = Field(strict=True, default=None, ge=100, le=599)
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = Field(strict=True, ge=0)


class WebhookDelivery(Contract):
    """The settled delivery of one lead event to one partner (the delivery log)."""

    webhook_id: WebhookId
    partner_id: PartnerId
    referral_id: Annotated[str, StringConstraints(pattern=REFERRAL_ID_PATTERN)]
    opportunity_id: OpportunityId
    originator: PartnerId
    event: LeadEvent
    outcome: Literal["delivered", "dead"]
    url: str = Field(max_length=2000)
    attempts: tuple[DeliveryAttempt, ...] = Field(min_length=1, max_length=50)
    settled_at: UtcDatetime
