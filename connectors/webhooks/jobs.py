"""A webhook job and the delivery record that settles it (pure: no I/O).

A job is one delivery to one partner of one ledger event (or of an operator's redrive); the
dispatcher (``dispatcher.py``) queues, sends and settles it. Settling publishes the record built
here on the compacted ``webhook-deliveries`` topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import ConsumerRecord, TopicPartition

from connectors.webhooks.sender import AttemptResult
from schemas.codec import Envelope
from schemas.webhooks import DeliveryAttempt, RecordPosition, WebhookDelivery, WebhookEvent

__all__ = ["Job", "attempt_of", "delivery_record", "failure_reason", "job_name"]

_KEPT_ATTEMPTS = 50  # a delivery record keeps its last attempts only


@dataclass
class Job:
    tp: TopicPartition
    record: ConsumerRecord[bytes, bytes]  # the input record: a ledger event, or a redrive
    envelope: Envelope | None  # the event delivered (None: a redrive's event is gone)
    partner_id: str
    event: WebhookEvent
    webhook_id: str
    source: RecordPosition
    redrive: WebhookDelivery | None = None  # the dead delivery a redrive job redrives


def delivery_record(
    job: Job, outcome: str, attempts: list[DeliveryAttempt], url: str, now: datetime
) -> WebhookDelivery:
    """The record of a settled delivery: ``delivered`` or ``dead``. A redrive's record is the dead
    one's, numbered, with every attempt (it replaces it on the compacted topic)."""
    dead = job.redrive
    if dead is not None:
        return dead.model_copy(
            update={
                "outcome": "delivered" if outcome == "delivered" else "dead",
                "url": url or dead.url,
                "attempts": (*dead.attempts, *attempts)[-_KEPT_ATTEMPTS:],
                "settled_at": now,
                "redrive": dead.redrive + 1,
                "first_settled_at": dead.first_settled,
            }
        )
    assert job.envelope is not None
    event = job.envelope.event
    return WebhookDelivery(
        webhook_id=job.webhook_id,
        partner_id=job.partner_id,
        referral_id=getattr(event, "referral_id"),  # noqa: B009 - a lead or fee event
        opportunity_id=getattr(event, "opportunity_id"),  # noqa: B009
        originator=getattr(event, "originator"),  # noqa: B009
        event=job.event,
        outcome="delivered" if outcome == "delivered" else "dead",
        url=url,
        attempts=tuple(attempts[-_KEPT_ATTEMPTS:]),
        settled_at=now,
        source=job.source,
    )


def job_name(job: Job) -> str:
    """What a log line about a delivery names: its input record, event and webhook."""
    return (
        f"topic={job.tp.topic} partition={job.tp.partition} offset={job.record.offset} "
        f"event_id={job.envelope.id if job.envelope else '-'} webhook_id={job.webhook_id} partner={job.partner_id}"
    )


def attempt_of(at: datetime, result: AttemptResult) -> DeliveryAttempt:
    return DeliveryAttempt(
        at=at, status=result.status, error=result.error, duration_ms=result.duration_ms
    )


def failure_reason(result: AttemptResult) -> str:
    if result.status is not None:
        return "http_5xx" if result.status >= 500 else "http_4xx"
    error = result.error or ""
    return "timeout" if error.startswith("timeout") else "connection"
