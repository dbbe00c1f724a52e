"""Publishing from the API: one aiokafka producer, ``acks=all``, every event through the codec.

:meth:`Publisher.publish` returns only once the broker acknowledged the record (so a ``202`` means
the event is on the bus) and tells where it landed, which the read model uses for read-your-writes.
A broker that does not answer in time is a ``503`` to the caller, never a ``500``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from connectors.http.errors import ApiError
from schemas.codec import encode
from schemas.common import Contract
from streams.record_auth import RecordAuth
from streams.settings import Settings

__all__ = ["SOURCE", "Published", "Publisher"]

log = logging.getLogger("oppbus.api.publisher")

SOURCE = "oppbus/http-api"


@dataclass(frozen=True)
class Published:
    """Where an acknowledged record landed."""

    topic: str
    partition: int
    offset: int
    event_id: str


class Publisher:
    """The API's producer: started and stopped with the web app."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float = 10.0,
        on_published: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._auth = RecordAuth.from_settings(settings)
        self._on_published = on_published
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap_servers,
            **self._settings.kafka_client_options(),
            acks="all",
            linger_ms=self._settings.producer_linger_ms,
            request_timeout_ms=int(self._timeout_s * 1000),
            client_id=f"{self._settings.app_id}-api",
        )
        try:
            await producer.start()
        except BaseException:  # a failed start leaves the client and its connection open
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def partition_count(self, topic: str) -> int | None:
        """How many partitions the logical ``topic`` has (cluster metadata), None if unknown."""
        if self._producer is None:
            return None
        try:
            parts = await asyncio.wait_for(
                self._producer.partitions_for(self._settings.topic(topic)), self._timeout_s
            )
        except (KafkaError, TimeoutError):
            return None
        return len(parts)

    async def publish(
        self, topic: str, key: str, event: Contract, *, event_id: str | None = None
    ) -> Published:
        """Encode ``event`` (CloudEvents binary mode) and send it to the logical ``topic``."""
        if self._producer is None:
            raise ApiError(503, "the API is not connected to the broker")
        encoded = encode(event, source=SOURCE, id=event_id)
        full = self._settings.topic(topic)
        raw_key = key.encode("utf-8")
        headers = self._auth.stamp(full, raw_key, encoded.value, encoded.headers)
        try:
            meta = await asyncio.wait_for(
                self._producer.send_and_wait(
                    full,
                    value=encoded.value,
                    key=raw_key,
                    headers=headers,
                ),
                timeout=self._timeout_s,
            )
        except (KafkaError, TimeoutError) as exc:
            log.warning("publish to %s failed: %s", full, exc)
            raise ApiError(
                503, "the broker did not acknowledge the event; retry", code="broker_unavailable"
            ) from None
        if self._on_published is not None:
            self._on_published(topic)
        return Published(
            topic=topic, partition=meta.partition, offset=meta.offset, event_id=_ce_id(encoded)
        )


def _ce_id(encoded: object) -> str:
    for name, value in getattr(encoded, "headers", ()):
        if name == "ce_id":
            return bytes(value).decode()
    return ""
