"""Fee events go out through the payer's and the payee's webhooks, like leads do.

The real API, dispatcher, broker and receiver: a fee accrued and then approved reaches the payer and
the payee (each with its own ``webhook-id``), signed with their own secrets, with the fee event's
CloudEvents headers; a partner subscribed to lead events only, and a partner not party to the
referral, get nothing; a forged fee record on the broker reaches nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from connectors.webhooks.dispatcher import WebhookDispatcher
from schemas.codec import encode
from schemas.fees import FeeRecorded
from schemas.ids import referral_id
from streams.fees.ledger import fee_id_of
from streams.settings import Settings
from tests.integration.api.conftest import Harness, harness_with
from tests.integration.polling import wait_for
from tests.integration.webhook_helpers import LIST, Receiver, listed
from tests.integration.webhook_helpers import redrive_hooks as redrive_hooks  # a fixture

pytestmark = pytest.mark.kafka

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(
        settings, webhook_allowed_networks="127.0.0.0/8", webhook_timeout_s=2.0
    ):
        yield harness


def _fee(payer: str, payee: str, kind: str = "accrued", opp: str = "opp-1") -> FeeRecorded:
    rid = referral_id(payee, opp, payer)
    fid = fee_id_of(rid, "won")
    return FeeRecorded(
        event_id=f"{fid}.{kind}",
        fee_id=fid,
        kind=kind,  # type: ignore[arg-type]
        at=T0 if kind == "accrued" else T0 + timedelta(days=30),
        referral_id=rid,
        opportunity_id=opp,
        originator=payee,
        payer=payer,
        payee=payee,
        amount=Decimal("120.00"),
        currency="EUR",
        terms_version=1,
        approve_at=T0 + timedelta(days=30),
        basis="10% of 1200.00 EUR",
    )


async def _subscribe(h: Harness, receiver: Receiver, partner: str, **body: object) -> None:
    auth = await h.register(partner)
    url = f"/v1/partners/{partner}/webhook"
    resp = await h.client.put(url, json={"url": f"{receiver.url}/{partner}", **body}, headers=auth)
    assert resp.status == 201, await resp.text()
    receiver.secrets[partner] = (await resp.json())["secret"]


async def test_fee_events_reach_the_payer_and_the_payee_only(hooks: Harness) -> None:
    receiver = Receiver(secrets={})
    await receiver.start()
    dispatcher = WebhookDispatcher(hooks.settings)
    try:
        await _subscribe(hooks, receiver, "south")  # the payer: every event by default
        await _subscribe(hooks, receiver, "north")  # the payee
        await _subscribe(hooks, receiver, "east")  # a stranger to the referral
        await _subscribe(hooks, receiver, "west", events=["lead.offered"])  # leads only
        await dispatcher.start()
        # a forged fee naming the stranger and the leads-only partner: no MAC, reaches nobody
        forged = _fee("east", "west", opp="opp-forged")
        producer = AIOKafkaProducer(bootstrap_servers=hooks.settings.bootstrap_servers)
        await producer.start()
        try:
            enc = encode(forged, source="urn:attacker")
            await producer.send_and_wait(
                hooks.settings.topic("fees"), enc.value, forged.event_id.encode(),
                headers=enc.headers,
            )  # fmt: skip
        finally:
            await producer.stop()
        accrued, approved = _fee("south", "north"), _fee("south", "north", "approved")
        await hooks.emit_to("fees", accrued, approved)
        # a fee of west's referral: west subscribed to lead events only
        await hooks.emit_to("fees", _fee("east", "west", opp="opp-2"))
        await receiver.wait_for(lambda hits: len(hits) >= 5, 20)
        await asyncio.sleep(1.0)  # anything else would arrive now
    finally:
        await dispatcher.stop()
        await receiver.stop()

    got = sorted((h.path, h.webhook_id) for h in receiver.hits)
    assert got == sorted(
        [
            ("south", f"{accrued.event_id}.payer"),
            ("north", f"{accrued.event_id}.payee"),
            ("south", f"{approved.event_id}.payer"),
            ("north", f"{approved.event_id}.payee"),
            ("east", f"{_fee('east', 'west', opp='opp-2').event_id}.payer"),
        ]
    )
    assert all(h.verified for h in receiver.hits)  # each signed with its own partner's secret
    first = next(h for h in receiver.hits if h.webhook_id == f"{accrued.event_id}.payee")
    body = orjson.loads(first.body)
    assert body["type"] == "fee.accrued" and body["data"]["fee_id"] == accrued.fee_id
    assert body["data"]["payer"] == "south" and body["data"]["amount"] == "120.00"
    assert first.headers["ce-type"] == "io.oppbus.fee.recorded.v1"
    assert first.headers["ce-id"] and first.headers["ce-source"] == "urn:test:router"
    assert first.headers["ce-specversion"] == "1.0"


async def test_a_dead_fee_delivery_is_redriven_from_the_fee_ledger(
    redrive_hooks: Harness,
) -> None:
    h = redrive_hooks  # two attempts, short backoff
    receiver = Receiver(secrets={})
    await receiver.start()
    dispatcher = WebhookDispatcher(h.settings)
    try:
        auth = await h.register("north")
        resp = await h.client.put(
            "/v1/partners/north/webhook", json={"url": f"{receiver.url}/switch"}, headers=auth
        )
        receiver.secrets["switch"] = (await resp.json())["secret"]
        await dispatcher.start()
        fee = _fee("south", "north")
        await h.emit_to("fees", fee)
        wid = f"{fee.event_id}.payee"

        async def dead() -> bool:
            return [d["webhook_id"] for d in await listed(h, "?status=dead")] == [wid]

        await wait_for(dead, within=20, what="the dead fee delivery")
        receiver.failing = False
        asked = await h.client.post(f"{LIST}/{wid}/redrive", headers=h.admin)
        assert asked.status == 202, await asked.text()

        async def delivered() -> bool:
            return [d["webhook_id"] for d in await listed(h, "?status=delivered")] == [wid]

        await wait_for(delivered, within=20, what="the redriven fee delivery")
    finally:
        await dispatcher.stop()
        await receiver.stop()
    [done] = await listed(h)
    assert done["source"]["topic"] == "fees" and done["redrive"] == 1
    assert [x.status for x in receiver.hits] == [500, 500, 200]
    assert orjson.loads(receiver.hits[-1].body)["type"] == "fee.accrued"
