"""The API under test: the real app (aiohttp test server) on the session's embedded broker.

``api`` starts ``build_api_app`` in-process with its own topic prefix; :class:`Harness` holds the
client and the helpers the contract tests share: registering partners, snapshotting the end
offsets of every bus topic (proof that a rejected request published nothing) and writing ledger
events onto the referrals topic with the contracts codec, as the router does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr

from connectors.http.state import STATE, ApiState
from ops.api import build_api_app
from schemas.codec import encode
from schemas.common import Contract
from schemas.events import event_key
from schemas.ids import referral_id
from schemas.opportunity import Customer
from schemas.referrals import (
    LeadRevealed,
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ScoreReason,
    Teaser,
)
from schemas.topics import TOPICS
from streams.record_auth import RecordAuth
from streams.runtime.end_offsets import end_offsets
from streams.settings import Settings

ADMIN_TOKEN = "admin-token-for-tests-0123456789"


def profile(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Contoso Storage",
        "kind": "reseller",
        "capabilities": ["storage", "backup"],
        "regions": ["US"],
        "capacity": 10,
    }
    body.update(over)
    return body


def opportunity(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "opportunity_id": "nw-0001",
        "needs": ["storage"],
        "region": "US-CA",
        "industry": "healthcare",
        "deal_size": {"amount": "250000.00", "currency": "USD"},
        "expected_close": "2027-03-31",
        "customer": {
            "company": "Acme Health",
            "domain": "acme-health.example",
            "contacts": [{"name": "Dana Ops", "email": "dana@acme-health.example"}],
        },
    }
    body.update(over)
    return body


class Harness:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def state(self) -> ApiState:
        return self.client.server.app[STATE]

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.bearer(ADMIN_TOKEN)

    async def register(self, partner_id: str, **over: Any) -> dict[str, str]:
        """Register a partner as the operator; returns its auth headers."""
        resp = await self.client.put(
            f"/v1/partners/{partner_id}", json=profile(**over), headers=self.admin
        )
        assert resp.status == 201, await resp.text()
        return self.bearer((await resp.json())["api_key"])

    # --- proof that nothing was published ------------------------------------------------

    async def end_offsets(self) -> dict[str, int]:
        """The sum of end offsets of every bus topic, by logical name."""
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers)
            await self._consumer.start()
        tps = [
            TopicPartition(self.settings.topic(spec.name), p)
            for spec in TOPICS
            for p in sorted(
                self._consumer.partitions_for_topic(self.settings.topic(spec.name)) or ()
            )
        ]
        ends = await end_offsets(self._consumer, tps)  # ListOffsets alone is short on Tansu
        out = {spec.name: 0 for spec in TOPICS}
        for tp, end in ends.items():
            out[tp.topic.removeprefix(self.settings.topic_prefix + ".")] += end
        return out

    # --- the router's side, written directly to the ledger ----------------------------------

    async def emit(self, *events: Contract) -> None:
        """Write ledger events to the referrals topic and wait until the API has applied them."""
        await self.emit_to("referrals", *events)

    async def emit_to(self, topic: str, *events: Contract) -> None:
        """Write events to ``topic`` as their producer would; wait until the API applied them."""
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.bootstrap_servers, acks="all"
            )
            await self._producer.start()
        from connectors.http.publisher import Published

        for event in events:
            enc = encode(event, source="urn:test:router")
            full, key = self.settings.topic(topic), event_key(event)
            auth = RecordAuth.from_settings(self.settings)  # written as the bus writes it
            meta = await self._producer.send_and_wait(
                full,
                value=enc.value,
                key=key,
                headers=auth.stamp(full, key, enc.value, enc.headers),
            )
            ok = await self.state.readmodel.wait_for(
                Published(topic, meta.partition, meta.offset, ""), timeout_s=10
            )
            assert ok, f"the API did not apply the event on {topic}"

    async def offer(
        self, originator: str, opportunity_id: str, partner_id: str, *, ttl_s: float = 3600
    ) -> OfferMade:
        now = datetime.now(UTC)
        offer = OfferMade(
            referral_id=referral_id(originator, opportunity_id, partner_id),
            opportunity_id=opportunity_id,
            originator=originator,
            partner_id=partner_id,
            round=1,
            rank=1,
            score=87.5,
            reasons=(ScoreReason(factor="fit", points=40, detail="offers storage in US"),),
            teaser=Teaser(
                needs=("storage",),
                region="US-CA",
                industry="healthcare",
                size_band="250k-1m",
                currency="USD",
                expected_close=datetime(2027, 3, 31).date(),
            ),
            offered_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        await self.emit(offer)
        return offer

    async def accepted(self, offer: OfferMade, customer: dict[str, Any]) -> None:
        about = _about(offer)
        now = datetime.now(UTC)
        await self.emit(
            ReferralAccepted(**about, accepted_at=now),
            LeadRevealed(
                **about,
                customer=Customer.model_validate(customer),
                deal_size={"amount": "250000.00", "currency": "USD"},  # type: ignore[arg-type]
                revealed_at=now,
            ),
        )

    async def declined(self, offer: OfferMade, reason: str = "not_a_fit") -> None:
        await self.emit(
            ReferralDeclined(**_about(offer), reason=reason, declined_at=datetime.now(UTC))  # type: ignore[arg-type]
        )

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()


def _about(offer: OfferMade) -> dict[str, str]:
    return {
        "referral_id": offer.referral_id,
        "opportunity_id": offer.opportunity_id,
        "originator": offer.originator,
        "partner_id": offer.partner_id,
    }


async def harness_with(settings: Settings, **update: object) -> AsyncIterator[Harness]:
    """The API app (admin token set, ``update`` applied to its settings) and its harness."""
    configured = settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN), **update})
    client = TestClient(TestServer(build_api_app(configured)))
    await client.start_server()
    harness = Harness(client, configured)
    try:
        yield harness
    finally:
        await harness.close()
        await client.close()


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(settings):
        yield harness
