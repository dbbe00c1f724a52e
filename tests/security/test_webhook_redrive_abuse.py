"""Abuse of the operator's webhook redrive: partners' keys, unknown ids, forged redrive records.

On the real API, dispatcher and embedded broker: a partner's key (even the delivery's own partner)
gets the same ``403`` for a delivery that exists and one that does not, and nothing is published;
an unknown or hostile id is a ``404`` that publishes nothing; a redrive record written to the
broker by anyone but the bus (no MAC, or a MAC with another key) is dead-lettered with the reason
``unauthenticated``, is not applied by the API's view and delivers nothing; nor is a forged
delivery record claiming the delivery succeeded.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from connectors.webhooks.dispatcher import WebhookDispatcher
from schemas.codec import encode
from schemas.operations import DeadLetter
from schemas.webhooks import WebhookDelivery, WebhookRedrive
from streams.record_auth import RecordAuth
from tests.integration.api.conftest import Harness
from tests.integration.webhook_helpers import (
    LIST,
    Receiver,
    dead_lead,
    listed,
    read_until,
    redrive_hooks,
)

pytestmark = pytest.mark.kafka
hooks = redrive_hooks


async def test_partners_and_unknown_ids_learn_nothing_and_publish_nothing(hooks: Harness) -> None:
    receiver = Receiver(secrets={})
    await receiver.start()
    try:
        wid, owner = await dead_lead(hooks, receiver)
    finally:
        await receiver.stop()
    stranger = await hooks.register("east-security")
    before = await hooks.end_offsets()
    unknown = "ref_00000000000000000000.offered"
    answers = []
    for who in (owner, stranger):
        for target in (wid, unknown):
            resp = await hooks.client.post(f"{LIST}/{target}/redrive", headers=who)
            answers.append((resp.status, await resp.text()))
        for query in ("", "?partner_id=vault-storage", "?status=dead"):
            resp = await hooks.client.get(LIST + query, headers=who)
            answers.append((resp.status, await resp.text()))
    assert {status for status, _ in answers} == {403}
    assert len({text for _, text in answers}) == 1  # the same words whatever the id or query
    assert wid not in answers[0][1]
    assert (await hooks.client.post(f"{LIST}/{wid}/redrive")).status == 401

    for bad in (unknown, "x" * 3000, "ref_%00%0a.offered", "..%2f..%2fadmin"):
        resp = await hooks.client.post(f"{LIST}/{bad}/redrive", headers=hooks.admin)
        assert resp.status in (404, 414), bad
        assert "x" * 200 not in await resp.text()  # a hostile id is not echoed in full
    bad_status = await hooks.client.get(LIST + "?status=lost", headers=hooks.admin)
    assert bad_status.status == 400 and "status" in (await bad_status.json())["message"]
    assert await hooks.end_offsets() == before  # nothing published by any of it
    [still] = await listed(hooks)
    assert still["status"] == "dead" and still["redrive_asked"] == 0


async def test_a_forged_redrive_record_is_dead_lettered_and_delivers_nothing(
    hooks: Harness,
) -> None:
    receiver = Receiver(secrets={})
    await receiver.start()
    try:
        wid, _ = await dead_lead(hooks, receiver)
        receiver.failing = False  # a redrive would now succeed: none must happen
        forged = WebhookRedrive(
            webhook_id=wid, partner_id="vault-storage", redrive=1, requested_at=datetime.now(UTC)
        )
        topic = hooks.settings.topic("webhook-redrives")
        enc = encode(forged, source="urn:attacker")
        other_key = RecordAuth([b"not-the-bus-service-key"])
        producer = AIOKafkaProducer(bootstrap_servers=hooks.settings.bootstrap_servers)
        await producer.start()
        # a forged record saying a later redrive delivered it: never applied either
        [shown] = await listed(hooks)
        own = {k: v for k, v in shown.items() if k in WebhookDelivery.model_fields}
        record = WebhookDelivery.model_validate(own)
        fake = record.model_copy(update={"outcome": "delivered", "redrive": 5})
        fake_enc = encode(fake, source="urn:attacker")
        log = hooks.settings.topic("webhook-deliveries")
        try:
            await producer.send_and_wait(topic, enc.value, wid.encode(), headers=enc.headers)
            signed = other_key.stamp(topic, wid.encode(), enc.value, enc.headers)
            await producer.send_and_wait(topic, enc.value, wid.encode(), headers=signed)
            await producer.send_and_wait(
                log, fake_enc.value, wid.encode(), headers=fake_enc.headers
            )
        finally:
            await producer.stop()
        dispatcher = WebhookDispatcher(hooks.settings)
        await dispatcher.start()
        try:
            letters = await read_until(
                hooks.settings,
                "deadletter",
                lambda ev: (
                    sum(isinstance(e, DeadLetter) and e.source_topic == topic for e in ev) >= 2
                ),
            )
            await asyncio.sleep(1.0)  # a delivery, were one made, would arrive now
        finally:
            await dispatcher.stop()
    finally:
        await receiver.stop()
    refused = [e for e in letters if isinstance(e, DeadLetter) and e.source_topic == topic]
    assert [e.reason for e in refused] == ["unauthenticated", "unauthenticated"]
    assert all(h.status >= 500 for h in receiver.hits)  # only the two failed first attempts
    [still] = await listed(hooks)
    assert still["status"] == "dead" and still["redrive_asked"] == 0  # the API ignored them
