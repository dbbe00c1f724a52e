"""The gatekeeper: dead-letters each forged record of the topics every process reads whole.

The partner directory (every worker), the API-key store and the webhook registry and delivery log
(every API process, the dispatcher) read ``partners``, ``credentials``, ``webhooks`` and
``webhook-deliveries`` whole, without a
consumer group, and never apply a record without the bus's MAC (streams/record_auth.py). They cannot
dead-letter it themselves (every reader would, N times). This agent reads the same topics in the
workers' consumer group, so exactly one worker sees each record, and sends every unauthenticated one
to the dead-letter topic with the reason ``unauthenticated`` and its origin. The router dead-letters
forged ``opportunities`` and ``responses`` itself (it is their only consumer).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.types import EventT, StreamT

from schemas.codec import header
from schemas.errors import InvalidEvent
from streams.deadletter import EventRef, dead_letter_record
from streams.record_auth import RecordAuth
from streams.runtime import unacked_if_failed
from streams.settings import Settings

__all__ = ["GATED_TOPICS", "Gatekeeper", "register_gatekeeper"]

log = logging.getLogger(__name__)

GATED_TOPICS = ("partners", "credentials", "webhooks", "webhook-deliveries")
CONSUMER = "gatekeeper"


@dataclass
class Gatekeeper:
    """Counts for tests: records checked and records dead-lettered."""

    checked: int = 0
    refused: int = 0


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    items = raw.items() if isinstance(raw, dict) else (raw or ())
    return [(str(k), bytes(v or b"")) for k, v in items]


def register_gatekeeper(app: faust.App, settings: Settings) -> Gatekeeper:
    """Declare the gatekeeper agent on ``app``."""
    auth = RecordAuth.from_settings(settings)
    dlq = settings.topic("deadletter")
    counts = Gatekeeper()
    source = app.topic(
        *(settings.topic(t) for t in GATED_TOPICS), key_serializer="raw", value_serializer="raw"
    )

    async def check(events: Sequence[EventT[bytes]]) -> None:
        for event in events:
            m = event.message
            counts.checked += 1
            if m.value is None:
                continue  # a tombstone: no reader applies it
            headers = _headers(m.headers)
            try:
                auth.check(m.topic, m.key, m.value, headers)
            except InvalidEvent as exc:
                ref = EventRef(m.topic, m.partition, m.offset, m.key, m.value, headers,
                               header(headers, "ce_id"))  # fmt: skip
                log.warning("dead-lettered forged record %s: %s", ref.describe(), exc)
                k, v, h = dead_letter_record(exc, ref, consumer=CONSUMER)
                await app.producer.send(dlq, k, v, None, None, auth.stamp(dlq, k, v, h))
                counts.refused += 1

    async def gate(stream: StreamT[bytes]) -> None:
        batches = cast(faust.Stream[bytes], stream).take_events(500, within=0.05)
        async for events in batches:
            with unacked_if_failed(app.consumer, [e.message for e in events]):
                await check(events)

    # concurrency 1: faust-streaming issue 606 (events lost with concurrency > 1).
    app.agent(source, name=f"{settings.app_id}.gatekeeper", concurrency=1, sink=None)(gate)
    return counts
