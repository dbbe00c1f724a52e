"""Webhook subscriptions over HTTP, and a lead reaching a subscriber's real endpoint, signed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.webhooks.dispatcher import WebhookDispatcher
from schemas.codec import decode
from schemas.webhooks import WebhookSubscription
from streams.settings import Settings
from tests.integration.api.conftest import Harness, harness_with
from tests.integration.polling import wait_for
from tests.integration.webhook_helpers import Receiver

pytestmark = pytest.mark.kafka


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(
        settings,
        webhook_allowed_networks="127.0.0.0/8",
        webhook_backoff_base_s=0.05,
        webhook_max_attempts=3,
        webhook_timeout_s=2.0,
    ):
        yield harness


async def _subscriptions(h: Harness) -> list[WebhookSubscription]:
    consumer = AIOKafkaConsumer(bootstrap_servers=h.settings.bootstrap_servers)
    await consumer.start()
    try:
        topic = h.settings.topic("webhooks")
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        batches = await consumer.getmany(timeout_ms=1500)
        out = [decode(r.value, r.headers).event for rs in batches.values() for r in rs]  # type: ignore[arg-type]
        return [e for e in out if isinstance(e, WebhookSubscription)]
    finally:
        await consumer.stop()


URL = "/v1/partners/vault-storage/webhook"


async def test_subscription_lifecycle_and_authorisation(hooks: Harness) -> None:
    vault = await hooks.register("vault-storage")
    other = await hooks.register("other-storage")
    body = {"url": "https://hooks.vault.example/oppbus", "events": ["lead.offered"]}
    assert (await hooks.client.put(URL, json=body)).status == 401
    assert (await hooks.client.put(URL, json=body, headers=other)).status == 403
    before = await hooks.end_offsets()
    for bad in (
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "http://10.0.0.8/hook"},
        {"url": "ftp://hooks.vault.example/x"},
        {"url": "https://hooks.vault.example/x", "events": ["lead.stolen"]},
    ):
        resp = await hooks.client.put(URL, json=bad, headers=vault)
        assert resp.status == 422, bad
        assert (await resp.json())["errors"][0]["field"] in {"url", "events.0"}
    assert await hooks.end_offsets() == before  # a rejected request publishes nothing

    created = await hooks.client.put(URL, json=body, headers=vault)
    assert created.status == 201
    first = await created.json()
    assert first["secret"].startswith("whsec_") and first["version"] == 1
    shown = await (await hooks.client.get(URL, headers=vault)).json()
    assert "secret" not in shown and shown["events"] == ["lead.offered"]
    assert (await hooks.client.get(URL, headers=other)).status == 403
    assert (await hooks.client.get(URL, headers=hooks.admin)).status == 200

    moved = await hooks.client.put(URL, json={"url": "https://new.vault.example/"}, headers=vault)
    assert moved.status == 200 and "secret" not in await moved.json()  # the secret is kept
    rotated = await hooks.client.put(
        URL, json={"url": "https://new.vault.example/", "rotate_secret": True}, headers=vault
    )
    new_secret = (await rotated.json())["secret"]
    assert new_secret != first["secret"]
    subs = await _subscriptions(hooks)
    assert [s.version for s in subs] == [1, 2, 3]
    assert [s.secret for s in subs] == [first["secret"], first["secret"], new_secret]

    assert (await hooks.client.delete(URL, headers=vault)).status == 204
    assert (await hooks.client.get(URL, headers=vault)).status == 404
    nobody = await hooks.client.put(
        "/v1/partners/ghost-partner/webhook", json=body, headers=hooks.admin
    )
    assert nobody.status == 404


async def test_a_lead_reaches_the_subscriber_signed_and_is_in_the_delivery_log(
    hooks: Harness,
) -> None:
    vault = await hooks.register("vault-storage")
    receiver = Receiver(secrets={})
    await receiver.start()
    dispatcher = WebhookDispatcher(hooks.settings)
    try:
        resp = await hooks.client.put(URL, json={"url": f"{receiver.url}/flaky"}, headers=vault)
        assert resp.status == 201
        receiver.secrets["flaky"] = (await resp.json())["secret"]
        await dispatcher.start()
        offer = await hooks.offer("northwind", "nw-0001", "vault-storage")
        await receiver.wait_for(lambda hits: any(h.status < 300 for h in hits), 20)
        log_url = f"{URL}/deliveries?referral_id={offer.referral_id}"

        async def logged() -> list[dict]:
            return (await (await hooks.client.get(log_url, headers=vault)).json())["deliveries"]

        async def has_entry() -> bool:
            return bool(await logged())

        await wait_for(has_entry, within=10, what="a delivery log entry")
        [entry] = await logged()
        paged = await (await hooks.client.get(log_url + "&limit=1", headers=vault)).json()
        assert len(paged["deliveries"]) == 1 and paged["next"] is None  # one page holds it all
        other = await hooks.register("other-storage")
        foreign = await hooks.client.get(log_url, headers=other)
    finally:
        await dispatcher.stop()
        await receiver.stop()
    assert [h.status for h in receiver.hits] == [503, 503, 204]
    assert all(h.verified for h in receiver.hits)
    assert {h.webhook_id for h in receiver.hits} == {f"{offer.referral_id}.offered"}
    assert orjson.loads(receiver.hits[-1].body)["data"]["teaser"]["region"] == "US-CA"
    assert entry["outcome"] == "delivered" and len(entry["attempts"]) == 3
    assert foreign.status == 403
