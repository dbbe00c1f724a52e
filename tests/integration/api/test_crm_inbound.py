"""CRM inbound on a running API: signed HubSpot/Salesforce deals become opportunities on the bus."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

import connectors.crm
from connectors.crm.signatures import hubspot_signature, salesforce_signature
from ops.worker import build_worker_app
from schemas.codec import decode
from schemas.ids import opportunity_key
from schemas.opportunity import Opportunity
from schemas.referrals import OfferMade
from streams.settings import Settings
from tests.integration.api.conftest import Harness, harness_with
from tests.integration.webhook_helpers import Receiver, read_until

pytestmark = pytest.mark.kafka

SAMPLES = Path(connectors.crm.__file__).parent / "samples"
HS_SECRET = "hs-client-secret-for-tests-0123456789"
SF_SECRET = "sf-shared-secret-for-tests-0123456789"
DEAL = (SAMPLES / "hubspot_deal.json").read_bytes()


@pytest.fixture
async def crm(settings: Settings, tmp_path: Path) -> AsyncIterator[Harness]:
    toml = (SAMPLES / "hubspot_mapping.toml").read_text()
    (tmp_path / "net-reseller.toml").write_text(
        toml.replace("replace-with-the-hubspot-app-client-secret", HS_SECRET)
    )
    sf = (SAMPLES / "salesforce_mapping.json").read_text()
    (tmp_path / "sf-reseller.json").write_text(
        sf.replace("replace-with-a-long-random-shared-secret", SF_SECRET)
    )
    async for harness in harness_with(
        settings, crm_dir=tmp_path, webhook_allowed_networks="127.0.0.0/8"
    ):
        yield harness


def hubspot_headers(
    crm: Harness, path: str, body: bytes, *, ts_ms: int | None = None
) -> dict[str, str]:
    stamp = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
    uri = str(crm.client.make_url(path))
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": hubspot_signature(HS_SECRET, "POST", uri, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }


async def published(crm: Harness) -> list[tuple[bytes, Opportunity]]:
    consumer = AIOKafkaConsumer(
        crm.settings.topic("opportunities"),
        bootstrap_servers=crm.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        records = [r for rs in batches.values() for r in rs]
        return [(r.key, decode(r.value, r.headers).event) for r in records]  # type: ignore[misc]
    finally:
        await consumer.stop()


HS_PATH = "/v1/crm/hubspot/net-reseller"


async def test_a_hubspot_signed_deal_becomes_an_opportunity_on_the_bus(crm: Harness) -> None:
    await crm.register("net-reseller", capabilities=["networking"])
    resp = await crm.client.post(HS_PATH, data=DEAL, headers=hubspot_headers(crm, HS_PATH, DEAL))
    assert resp.status == 202, await resp.text()
    [accepted] = (await resp.json())["opportunities"]
    assert (
        accepted["opportunity_id"] == "hs-9876543210" and accepted["originator"] == "net-reseller"
    )
    [(key, opp)] = await published(crm)
    assert key == opportunity_key("net-reseller", "hs-9876543210").encode()
    assert opp.originator == "net-reseller" and opp.needs == ("storage", "backup")
    assert opp.customer.company == "Contoso Retail Ltd" and str(opp.deal_size.amount) == "185000.50"


async def test_tampered_stale_unsigned_replayed_requests_publish_nothing(crm: Harness) -> None:
    await crm.register("net-reseller", capabilities=["networking"])
    before = await crm.end_offsets()
    tampered = DEAL.replace(b"185000.50", b"1850000.50")
    cases = {
        "tampered": (tampered, hubspot_headers(crm, HS_PATH, DEAL)),
        "stale": (
            DEAL,
            hubspot_headers(crm, HS_PATH, DEAL, ts_ms=int(time.time() * 1000) - 600_000),
        ),
        "unsigned": (DEAL, {"Content-Type": "application/json"}),
        "other path": (DEAL, hubspot_headers(crm, "/v1/crm/hubspot/other", DEAL)),
    }
    for name, (body, headers) in cases.items():
        resp = await crm.client.post(HS_PATH, data=body, headers=headers)
        assert resp.status == 401, (name, await resp.text())
        assert (await resp.json())["error"] in {"bad_signature", "stale", "missing"}
    assert await crm.end_offsets() == before

    signed = hubspot_headers(crm, HS_PATH, DEAL)
    first = await crm.client.post(HS_PATH, data=DEAL, headers=signed)
    assert first.status == 202
    once = await crm.end_offsets()
    replay = await crm.client.post(HS_PATH, data=DEAL, headers=signed)
    assert replay.status == 409 and (await replay.json())["error"] == "replayed"
    assert await crm.end_offsets() == once
    assert once["opportunities"] == before["opportunities"] + 1


async def test_unknown_partners_and_invalid_deals_are_refused(crm: Harness) -> None:
    before = await crm.end_offsets()
    # configured but not registered on the bus
    resp = await crm.client.post(HS_PATH, data=DEAL, headers=hubspot_headers(crm, HS_PATH, DEAL))
    assert resp.status == 404
    assert await crm.end_offsets() == before
    await crm.register("net-reseller", capabilities=["networking"])
    before = await crm.end_offsets()
    other = "/v1/crm/hubspot/no-config"
    assert (
        await crm.client.post(other, data=DEAL, headers=hubspot_headers(crm, other, DEAL))
    ).status == 404
    bad = orjson.loads(DEAL)
    bad["properties"]["amount"] = "lots"
    bad["properties"]["oppbus_needs"] = "teleportation"
    body = orjson.dumps(bad)
    resp = await crm.client.post(HS_PATH, data=body, headers=hubspot_headers(crm, HS_PATH, body))
    assert resp.status == 422
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert {"deal_size.amount", "needs.0"} <= fields
    not_json = b"{nope"
    resp = await crm.client.post(
        HS_PATH, data=not_json, headers=hubspot_headers(crm, HS_PATH, not_json)
    )
    assert resp.status == 400
    big = b"[" + b" " * (300 * 1024) + b"]"
    resp = await crm.client.post(HS_PATH, data=big, headers=hubspot_headers(crm, HS_PATH, big))
    assert resp.status == 413
    assert await crm.end_offsets() == before


async def test_a_salesforce_signed_opportunity_is_published(crm: Harness) -> None:
    await crm.register("sf-reseller", capabilities=["storage"])
    body = (SAMPLES / "salesforce_opportunity.json").read_bytes()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Oppbus-Timestamp": stamp,
        "X-Oppbus-Signature": salesforce_signature(SF_SECRET, stamp, body),
    }
    path = "/v1/crm/salesforce/sf-reseller"
    resp = await crm.client.post(path, data=body, headers=headers)
    assert resp.status == 202, await resp.text()
    [(_, opp)] = await published(crm)
    assert opp.opportunity_id == "sf-0065g00000AbCdEAAZ" and opp.max_partners == 2
    again = await crm.client.post(path, data=body + b" ", headers=headers)
    assert again.status == 401  # the body changed


async def test_a_hubspot_deal_is_routed_and_the_offer_reaches_the_partners_webhook(
    crm: Harness,
) -> None:
    """CRM in -> bus -> router -> referral ledger -> signed webhook out, on the real broker."""
    await crm.register("net-reseller", capabilities=["networking"])
    vault = await crm.register("vault-storage", capabilities=["storage", "backup"])
    receiver = Receiver(secrets={})
    await receiver.start()
    worker = build_worker_app(crm.settings, web=False)
    try:
        resp = await crm.client.put(
            "/v1/partners/vault-storage/webhook", json={"url": f"{receiver.url}/ok"}, headers=vault
        )
        assert resp.status == 201, await resp.text()
        receiver.secrets["ok"] = (await resp.json())["secret"]
        await worker.start()
        signed = hubspot_headers(crm, HS_PATH, DEAL)
        assert (await crm.client.post(HS_PATH, data=DEAL, headers=signed)).status == 202
        ledger = await read_until(
            crm.settings, "referrals", lambda ev: any(isinstance(e, OfferMade) for e in ev), 60
        )
        await receiver.wait_for(lambda hits: len(hits) >= 1, 30)
    finally:
        await worker.stop()
        await receiver.stop()
    [offer] = [e for e in ledger if isinstance(e, OfferMade)]
    assert offer.partner_id == "vault-storage" and offer.originator == "net-reseller"
    assert offer.opportunity_id == "hs-9876543210"
    [hit] = receiver.hits
    assert hit.verified and hit.webhook_id == f"{offer.referral_id}.offered"
    body = orjson.loads(hit.body)
    assert body["type"] == "lead.offered" and "customer" not in body["data"]


async def test_a_short_crm_secret_is_named_with_why_in_the_answer_and_the_log(
    crm: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await crm.register("short-secret", capabilities=["networking"])
    toml = (SAMPLES / "hubspot_mapping.toml").read_text()
    config = crm.settings.crm_dir
    assert config is not None
    (config / "short-secret.toml").write_text(
        toml.replace("replace-with-the-hubspot-app-client-secret", "too-short")
    )
    path = "/v1/crm/hubspot/short-secret"
    before = await crm.end_offsets()
    with caplog.at_level(logging.ERROR, logger="oppbus.api.crm"):
        resp = await crm.client.post(path, data=DEAL, headers=hubspot_headers(crm, path, DEAL))
    assert resp.status == 503
    message = (await resp.json())["message"]
    assert "client_secret" in message and "at least 16 characters" in message
    assert "too-short" not in message  # the secret itself is never echoed
    logged = [r.getMessage() for r in caplog.records if r.name == "oppbus.api.crm"]
    assert logged and "short-secret.toml" in logged[0] and "client_secret" in logged[0]
    assert "too-short" not in logged[0]
    assert await crm.end_offsets() == before
