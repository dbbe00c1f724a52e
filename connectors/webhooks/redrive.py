"""Redriving a dead webhook delivery: what may be redriven, and reading the event back.

The operator asks with ``POST /v1/admin/webhook-deliveries/{webhook_id}/redrive``; the API checks
:func:`refusal` against what it knows and publishes a :class:`~schemas.webhooks.WebhookRedrive`
numbered ``dead.redrive + 1`` on the compacted ``webhook-redrives`` topic. The dispatcher reads that
topic in its consumer group (so exactly one worker carries each request out), checks the record's
MAC, checks :func:`refusal` again against its own view, reads the ledger or fee record the dead
delivery names (``source``) back from the log with :class:`SourceReader`, and delivers it like any
other job: same ``webhook-id``, same body, a fresh signature. The settled record carries the
redrive's number, so a request redelivered after a crash, or asked twice, is carried out once.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from connectors.webhooks.policy import delivery_targets
from schemas.codec import Envelope
from schemas.webhooks import WebhookDelivery, WebhookRedrive
from streams.settings import Settings

__all__ = ["SourceReader", "describes", "pending", "refusal"]


def refusal(current: WebhookDelivery | None, asked: WebhookRedrive | None = None) -> str | None:
    """Why a redrive of ``current`` is not to be carried out (None: carry it out).

    ``asked`` is the request (the dispatcher's check): it must be the next one for this delivery.
    """
    if current is None:
        return "unknown_delivery"
    if asked is not None and asked.redrive <= current.redrive:
        return "already_redriven"
    if current.outcome != "dead":
        return "delivered"
    if current.source is None:
        return "no_source"
    if asked is not None and asked.redrive != current.redrive + 1:
        return "out_of_order"
    return None


def pending(current: WebhookDelivery, asked: WebhookRedrive | None) -> bool:
    """A redrive of ``current`` was asked and has not settled yet."""
    return asked is not None and asked.redrive > current.redrive


def describes(envelope: Envelope, dead: WebhookDelivery) -> bool:
    """The record read back is the one the dead delivery was about (same webhook id)."""
    return any(
        wid == dead.webhook_id and partner == dead.partner_id and kind == dead.event
        for partner, kind, wid in delivery_targets(envelope.event)
    )


class SourceReader:
    """Reads one record back by its position (no consumer group; one read at a time)."""

    def __init__(self, settings: Settings, *, timeout_s: float = 5.0) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            **self._settings.kafka_client_options(),
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id=f"{self._settings.app_id}-webhooks-redrive",
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def read(
        self, topic: str, partition: int, offset: int
    ) -> ConsumerRecord[bytes, bytes] | None:
        """The record at ``offset`` of ``topic`` (full name), or None when it is gone (retention,
        compaction) or cannot be read within the timeout."""
        assert self._consumer is not None
        tp = TopicPartition(topic, partition)
        async with self._lock:
            consumer = self._consumer
            consumer.assign([tp])
            consumer.seek(tp, offset)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout_s):
                    while True:
                        batch = await consumer.getmany(tp, timeout_ms=300, max_records=1)
                        for record in batch.get(tp, []):
                            return record if record.offset == offset else None
        return None
