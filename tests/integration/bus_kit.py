"""Helpers of the stream integration tests: build events, publish them, watch the referrals topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.codec import decode, encode
from schemas.common import Contract
from schemas.events import OfferMade, event_key, event_topic
from schemas.opportunity import Opportunity
from schemas.partner import PartnerProfile
from schemas.partnership import Partnership
from schemas.terms import Terms
from streams.partnerships.machine import accept, propose
from streams.record_auth import RecordAuth
from streams.runtime import start_whole
from streams.settings import Settings
from tests.integration.polling import wait_for

NOW = datetime.now(UTC)


def partner(pid: str, caps: Iterable[str], version: int = 1, **kw: Any) -> PartnerProfile:
    fields: dict[str, Any] = {
        "partner_id": pid,
        "name": pid.title(),
        "kind": "reseller",
        "capabilities": tuple(caps),
        "regions": ("US",),
        "version": version,
        "updated_at": NOW,
    }
    fields.update(kw)
    return PartnerProfile(**fields)


def opportunity(
    originator: str, oid: str, needs: Iterable[str] = ("storage",), **kw: Any
) -> Opportunity:
    fields: dict[str, Any] = {
        "opportunity_id": oid,
        "originator": originator,
        "needs": tuple(needs),
        "region": "US-CA",
        "industry": "healthcare",
        "deal_size": {"amount": "120000.00", "currency": "USD"},
        "expected_close": date(2027, 3, 31),
        "customer": {
            "company": f"Customer of {oid}",
            "domain": f"{oid}.example.com",
            "contacts": [{"name": "Dana Lee", "email": "dana@example.com"}],
        },
        "published_at": datetime.now(UTC),
    }
    fields.update(kw)
    return Opportunity(**fields)


def active_partnership(proposer: str, partner_id: str, partnership_id: str) -> Partnership:
    """An active partnership: proposed by ``proposer`` (5 % fee), accepted by ``partner_id``."""
    terms = Terms.model_validate({"referral_fee": {"percent": "5"}})
    now = datetime.now(UTC)
    proposed = propose(partnership_id, proposer, partner_id, terms, now)
    assert isinstance(proposed, Partnership), proposed
    agreed = accept(proposed, partner_id, now)
    assert isinstance(agreed, Partnership), agreed
    return agreed


class Bus:
    """A producer for test events and a reader of the referrals and dead-letter topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.auth = RecordAuth.from_settings(settings)
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
        self.seen: dict[str, list[Any]] = {"referrals": [], "deadletter": []}
        self.by_type: dict[type, list[Any]] = {}
        # opportunity id -> referral ids offered (what partners see: one lead per referral id)
        self.offered: dict[str, set[str]] = {}
        self._readers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Bus:
        try:
            await self.producer.start()
        except BaseException:  # __aexit__ does not run when __aenter__ fails
            await self.producer.stop()
            raise
        for name in self.seen:
            self._readers.append(asyncio.create_task(self._read(name)))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.producer.stop()

    async def publish(self, *events: Contract) -> None:
        """Publish in order (one partition keeps its order) and wait until all are stored."""
        futures = []
        for event in events:
            enc = encode(event, source="tests")
            topic, key = self.settings.topic(event_topic(event)), event_key(event)
            futures.append(
                await self.producer.send(
                    topic,
                    enc.value,
                    key=key,
                    headers=self.auth.stamp(topic, key, enc.value, enc.headers),
                )
            )
        await asyncio.gather(*futures)

    async def send_raw(
        self, topic: str, key: bytes, value: bytes, headers: list[Any], *, signed: bool = False
    ) -> None:
        """Produce bytes as they are (``signed``: with the bus's MAC, as if the bus wrote them)."""
        full = self.settings.topic(topic)
        if signed:
            headers = self.auth.stamp(full, key, value, headers)
        await self.producer.send_and_wait(full, value, key=key, headers=headers)

    async def _read(self, name: str) -> None:
        topic = self.settings.topic(name)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers, fetch_max_wait_ms=50
        )
        try:
            # a Bus closed soon after it opened cancels this reader while the consumer starts:
            # let the start finish, else aiokafka leaks its bootstrap connection (runtime row 20)
            await start_whole(consumer.start())
            parts = None
            while not parts:
                await consumer.topics()
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    await asyncio.sleep(0.1)
            tps = [TopicPartition(topic, p) for p in parts]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                for messages in batch.values():
                    for m in messages:
                        self._ingest(name, m)
        finally:
            await consumer.stop()

    def _ingest(self, name: str, m: Any) -> None:
        if name != "referrals":
            self.seen[name].append(m)
            return
        event = decode(m.value, m.headers).event
        self.seen[name].append(event)
        self.by_type.setdefault(type(event), []).append(event)
        if isinstance(event, OfferMade):
            self.offered.setdefault(event.opportunity_id, set()).add(event.referral_id)

    def of(self, kind: type[Any], **match: Any) -> list[Any]:
        return [
            e
            for e in self.by_type.get(kind, ())
            if all(getattr(e, k) == v for k, v in match.items())
        ]

    async def wait_for(self, check: Callable[[], Any], within_s: float = 20.0) -> Any:
        return await wait_for(check, within_s, every=0.05, what=self._progress)

    def _progress(self) -> str:
        tail = self.seen["referrals"][-5:]
        return (
            f"{len(self.seen['referrals'])} referral events, "
            f"last: {tail}; dead letters: {len(self.seen['deadletter'])}"
        )
