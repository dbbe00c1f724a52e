"""Outbound webhooks: a partner's subscription, the delivery record of each event, redrives.

``webhooks`` (compacted, key ``partner_id``): the latest :class:`WebhookSubscription` of a partner —
endpoint URL, Standard Webhooks signing secret (``whsec_`` + base64), which events it wants (its
leads' ``lead.*`` and the ``fee.*`` events of fees it pays or receives). The topic carries the
secret the dispatcher signs with: restrict it like the ``credentials`` topic.

``webhook-deliveries`` (compacted, key ``webhook_id``): one :class:`WebhookDelivery` per settled
delivery — delivered, or given up (dead letter) — with every attempt. It is the delivery log and
the dispatcher's memory of what a receiver already got: a ``webhook_id`` is ``<referral_id>.<event>``
for a lead event and ``<fee event id>.<payer|payee>`` for a fee event (:func:`webhook_id`,
:func:`fee_webhook_id`), the same on every redelivery, so receivers dedupe. A later record of the
same ``webhook_id`` (a redrive's, ``redrive`` one higher) supersedes the earlier one.

``webhook-redrives`` (compacted, key ``webhook_id``): the operator's :class:`WebhookRedrive` of a
dead delivery. ``redrive`` is the number the delivery's next record will carry, so the request is
carried out once however often it is asked, redelivered or interrupted by a crash.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints, field_validator

from schemas.common import Contract, OpportunityId, PartnerId, UtcDatetime
from schemas.ids import REFERRAL_ID_PATTERN

__all__ = [
    "FEE_EVENTS",
    "LEAD_EVENTS",
    "WEBHOOK_EVENTS",
    "DeliveryAttempt",
    "FeeEvent",
    "LeadEvent",
    "RecordPosition",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookRedrive",
    "WebhookSubscription",
    "fee_webhook_id",
    "webhook_id",
]

# What a subscriber can be told about one of its leads.
LeadEvent = Literal[
    "lead.offered", "lead.revealed", "lead.accepted", "lead.declined", "lead.expired",
    "lead.won", "lead.lost", "lead.withdrawn", "lead.assembled",
]  # fmt: skip
LEAD_EVENTS: tuple[LeadEvent, ...] = get_args(LeadEvent)
# What a subscriber can be told about a fee it pays (payer) or receives (payee).
FeeEvent = Literal["fee.accrued", "fee.approved", "fee.settled", "fee.reversed"]
FEE_EVENTS: tuple[FeeEvent, ...] = get_args(FeeEvent)
WebhookEvent = Literal[
    "lead.offered", "lead.revealed", "lead.accepted", "lead.declined", "lead.expired",
    "lead.won", "lead.lost", "lead.withdrawn", "lead.assembled",
    "fee.accrued", "fee.approved", "fee.settled", "fee.reversed",
]  # fmt: skip
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = get_args(WebhookEvent)

_LEAD_WEBHOOK_ID = re.compile(r"^ref_[0-9a-f]{20}\.[a-z]+$")
_FEE_WEBHOOK_ID = re.compile(
    r"^fee_[0-9a-f]{20}\.(accrued|approved|settled|reversed)\.(payer|payee)$"
)
Secret = Annotated[str, StringConstraints(pattern=r"^whsec_[A-Za-z0-9+/]{32,128}={0,2}$")]


def webhook_id(referral_id: str, event: str) -> str:
    """``ref_… .offered``: stable per referral and event, so a redelivery carries the same id."""
    return f"{referral_id}.{event.removeprefix('lead.')}"


def fee_webhook_id(fee_event_id: str, role: Literal["payer", "payee"]) -> str:
    """``fee_… .accrued.payee``: stable per fee event and side (payer and payee are told apart)."""
    return f"{fee_event_id}.{role}"


def _checked_webhook_id(value: str) -> str:
    if not (_LEAD_WEBHOOK_ID.fullmatch(value) or _FEE_WEBHOOK_ID.fullmatch(value)):
        raise ValueError("not a webhook id: <referral_id>.<event> or <fee event id>.<payer|payee>")
    return value


_WEBHOOK_ID_DOC = "<referral_id>.<event> (lead events) or <fee event id>.<payer|payee> (fee events)"


class WebhookSubscription(Contract):
    """A partner's webhook endpoint; ``active=False`` stops deliveries (the record stays)."""

    partner_id: PartnerId
    url: str = Field(min_length=8, max_length=2000)
    secret: Secret
    events: tuple[WebhookEvent, ...] = Field(
        default=LEAD_EVENTS,
        min_length=1,
        max_length=len(WEBHOOK_EVENTS),
        description="the events delivered; a record without the field predates fee events",
    )
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


class RecordPosition(Contract):
    """Where a record is on the log: the (short) topic name, partition and offset."""

    topic: Literal["referrals", "fees"]
    partition: int = Field(strict=True, ge=0)
    offset: int = Field(strict=True, ge=0)


class WebhookDelivery(Contract):
    """The settled delivery of one lead or fee event to one partner (the delivery log)."""

    webhook_id: str = Field(description=_WEBHOOK_ID_DOC)
    partner_id: PartnerId
    referral_id: Annotated[str, StringConstraints(pattern=REFERRAL_ID_PATTERN)]
    opportunity_id: OpportunityId
    originator: PartnerId
    event: WebhookEvent
    outcome: Literal["delivered", "dead"]
    url: str = Field(max_length=2000)
    attempts: tuple[DeliveryAttempt, ...] = Field(min_length=1, max_length=50)
    settled_at: UtcDatetime
    source: RecordPosition | None = Field(
        default=None, description="the ledger or fee record delivered (what a redrive re-reads)"
    )
    redrive: int = Field(
        default=0, strict=True, ge=0, description="0: the first delivery; n: the n-th redrive's"
    )
    first_settled_at: UtcDatetime | None = Field(
        default=None, description="when the first delivery settled (the order of the admin list)"
    )

    @field_validator("webhook_id")
    @classmethod
    def _webhook_id(cls, value: str) -> str:
        return _checked_webhook_id(value)

    @property
    def first_settled(self) -> datetime:
        return self.first_settled_at or self.settled_at


class WebhookRedrive(Contract):
    """The operator asked to deliver a dead delivery again (key ``webhook_id``)."""

    webhook_id: str = Field(description=_WEBHOOK_ID_DOC)
    partner_id: PartnerId
    redrive: int = Field(
        strict=True, ge=1, description="the redrive number: the dead record's ``redrive`` + 1"
    )
    requested_at: UtcDatetime
    requested_by: str = Field(default="admin", min_length=1, max_length=100)

    @field_validator("webhook_id")
    @classmethod
    def _webhook_id(cls, value: str) -> str:
        return _checked_webhook_id(value)
