"""Partners on Kafka: each writes its own ingress topic, the worker re-stamps and forwards.

A partner that publishes over Kafka gets the topic ``<prefix>.ingress.<partner_id>`` and an ACL
granting its principal Write on that topic only (docs/security.md). One topic per partner, not one
topic keyed by partner: Kafka authorizes per topic, not per key, so the topic a record arrived on
is proof of who wrote it, where a key would only be a claim. This consumer (its own consumer
group, subscribed by pattern, so a new partner's topic is picked up without a restart) reads every
ingress record, sets the topic's partner as the actor — ``originator`` of an opportunity or a
withdrawal, ``partner_id`` of a response — whatever the body says, and publishes it on the internal
topic as the bus writes (customer sealed with the data keys, signed with the service key). A record
of any other type, or one that does not decode, is dead-lettered with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from mode import Service

from schemas.codec import decode, encode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from schemas.events import (
    AcceptReferral,
    DeclineReferral,
    Opportunity,
    OpportunityWithdrawn,
    ReportOutcome,
    event_key,
    event_topic,
)
from streams.deadletter import EventRef, dead_letter_record
from streams.record_auth import RecordAuth
from streams.settings import Settings

__all__ = ["SOURCE", "IngressForwarder", "ingress_partner", "register_ingress", "restamp"]

log = logging.getLogger(__name__)

SOURCE = "oppbus/ingress"
CONSUMER = "ingress"


def ingress_partner(settings: Settings, topic: str) -> str | None:
    """The partner whose ingress topic ``topic`` is, or None."""
    prefix = settings.topic("ingress.")
    partner = topic.removeprefix(prefix)
    return partner if topic.startswith(prefix) and partner else None


def restamp(partner_id: str, event: Contract) -> Contract:
    """``event`` as the partner ``partner_id`` may send it: the principal decides who acts."""
    if isinstance(event, Opportunity | OpportunityWithdrawn):
        return event.model_copy(update={"originator": partner_id})
    if isinstance(event, AcceptReferral | DeclineReferral | ReportOutcome):
        return event.model_copy(update={"partner_id": partner_id})
    raise InvalidEvent("ingress_type", f"{type(event).__name__} cannot come from a partner")


class IngressForwarder:
    """The consumer loop; ``start`` / ``stop`` with the worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.auth = RecordAuth.from_settings(settings)
        self.forwarded = 0
        self.refused = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        options = self.settings.kafka_client_options()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            acks="all",
            linger_ms=self.settings.producer_linger_ms,
            **options,
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=f"{self.settings.app_id}-ingress",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5_000,  # a new partner's topic is subscribed within seconds
            session_timeout_ms=int(self.settings.session_timeout_s * 1000),
            heartbeat_interval_ms=max(500, int(self.settings.session_timeout_s * 1000 / 6)),
            **options,
        )
        await self._producer.start()
        await self._consumer.start()
        pattern = "^" + re.escape(self.settings.topic("ingress.")) + r"[A-Za-z0-9._-]+$"
        self._consumer.subscribe(pattern=pattern)
        self._task = asyncio.create_task(self._run(), name="oppbus-ingress")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in (self._consumer, self._producer):
            if client is not None:
                await client.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=500)
            for records in batch.values():
                for record in records:
                    await self.forward(record)
            if batch:
                await self._consumer.commit()

    async def forward(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Re-stamp one ingress record onto its internal topic, or dead-letter it."""
        partner = ingress_partner(self.settings, record.topic)
        headers = [(name, bytes(value or b"")) for name, value in record.headers or ()]
        try:
            if partner is None or record.value is None:
                raise InvalidEvent("ingress_topic", f"{record.topic} is no partner's ingress")
            event = restamp(partner, decode(record.value, headers).event)
        except InvalidEvent as exc:
            ref = EventRef(record.topic, record.partition, record.offset, record.key,
                           record.value, headers)  # fmt: skip
            log.warning("dead-lettered ingress record %s: %s", ref.describe(), exc)
            key, value, dead_headers = dead_letter_record(exc, ref, consumer=CONSUMER)
            await self._send("deadletter", key, value, dead_headers)
            self.refused += 1
            return
        enc = encode(event, source=SOURCE)
        await self._send(event_topic(event), event_key(event), enc.value, enc.headers)
        self.forwarded += 1

    async def _send(
        self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        assert self._producer is not None
        full = self.settings.topic(topic)
        signed = self.auth.stamp(full, key, value, headers)
        await self._producer.send_and_wait(full, value, key=key, headers=signed)


def register_ingress(app: faust.App, settings: Settings) -> None:
    """Run an :class:`IngressForwarder` with the worker ``app``."""

    class IngressService(Service):
        forwarder: IngressForwarder | None = None

        async def on_start(self) -> None:
            self.forwarder = IngressForwarder(settings)
            await self.forwarder.start()

        async def on_stop(self) -> None:
            if self.forwarder is not None:
                await self.forwarder.stop()

    app.service(IngressService)
