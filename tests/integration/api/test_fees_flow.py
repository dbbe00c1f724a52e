"""The fee flow on the real embedded broker, API and worker: a partnership is agreed, an
opportunity routed, accepted and won; exactly one pending fee accrues, settling it is refused
while pending, and a redelivered won outcome adds no fee; ``fees verify`` agrees."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ops.fees_command import verify
from schemas.fees import FeeRecorded
from streams.runtime.app import create_app
from streams.wiring import register_all
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.polling import until

pytestmark = pytest.mark.kafka


async def _redeliver_won(api: Harness, referral_id: str) -> None:
    """Write the ledger's won record again, byte for byte (a redelivery or a replay)."""
    topic = api.settings.topic("referrals")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=api.settings.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: Any = None
        for _ in range(50):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    headers = dict(r.headers)
                    if headers.get("ce_type") == b"io.oppbus.referral.won.v1" and (
                        referral_id.encode() in (r.value or b"")
                    ):
                        found = r
            if found is not None:
                break
        assert found is not None, "the won outcome is not on the ledger"
    finally:
        await consumer.stop()
    producer = AIOKafkaProducer(bootstrap_servers=api.settings.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value=found.value, key=found.key, headers=list(found.headers)
        )
    finally:
        await producer.stop()


async def test_agreed_routed_won_accrues_one_pending_fee(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    south = await api.register("south", capabilities=["storage", "backup"])
    proposed = await api.client.post(
        "/v1/partnerships",
        json={"partner_id": "south", "terms": {"referral_fee": {"percent": "10"},
                                               "cap": {"amount": "20000.00", "currency": "USD"}}},
        headers=north,
    )  # fmt: skip
    pid = (await proposed.json())["partnership_id"]
    assert (await api.client.post(f"/v1/partnerships/{pid}/accept", headers=south)).status == 200

    worker = create_app(api.settings)
    keeper = register_all(worker, api.settings).fees
    await worker.start()
    try:
        resp = await api.client.post("/v1/opportunities", json=opportunity(), headers=north)
        assert resp.status == 202, await resp.text()
        views = api.state.views
        assert await until(lambda: bool(views.leads_of("south")), 30)
        (lead,) = views.leads_of("south")
        assert lead.offer.terms is not None and lead.offer.terms.version == 1
        rid = lead.referral_id
        seen = await (await api.client.get("/v1/leads", headers=south)).json()
        assert seen["leads"][0]["terms"]["referral_fee"] == {"percent": "10"}
        accept = await api.client.post(
            f"/v1/referrals/{rid}/accept", headers={**south, "Prefer": "wait=10"}
        )
        assert accept.status in (200, 202), await accept.text()
        won = await api.client.post(
            f"/v1/referrals/{rid}/outcome",
            json={"status": "won", "amount": "250000.00", "currency": "USD"},
            headers={**south, "Prefer": "wait=10"},
        )
        assert won.status in (200, 202), await won.text()
        assert await until(lambda: bool(views.commerce.fees), 30), "no fee accrued"
        (fee,) = views.commerce.fees.values()
        assert (fee.payer, fee.payee, fee.status) == ("south", "north", "pending")
        assert (str(fee.amount), fee.currency) == ("20000.00", "USD")  # 25000 capped
        listed = await (await api.client.get("/v1/fees", headers=south)).json()
        assert [f["fee_id"] for f in listed["fees"]] == [fee.fee_id]
        assert listed["fees"][0]["terms_version"] == 1
        settle = await api.client.post(
            f"/v1/fees/{fee.fee_id}/settle", json={"reference": "WIRE-1"}, headers=north
        )
        assert settle.status == 409

        records_before = len(views.commerce.fee_records)
        seen, appended = keeper.referrals.records, keeper.appended
        await _redeliver_won(api, rid)
        assert await until(lambda: keeper.referrals.records > seen, 10), "not redelivered"
        await until(lambda: False, 1.5)  # three ticks of the keeper to (wrongly) append
        assert len(views.commerce.fees) == 1
        assert len(views.commerce.fee_records) == records_before
        assert keeper.appended == appended
        assert await verify(api.settings, now=datetime.now(UTC)) == []
    finally:
        await worker.stop()


async def test_fees_verify_exits_1_naming_a_referral_whose_fee_is_not_due(api: Harness) -> None:
    """A fee on the ledger that no referral under terms calls for (forged, or a bug)."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    forged = FeeRecorded(
        event_id="fee_0123456789abcdef0123.accrued",
        fee_id="fee_0123456789abcdef0123",
        kind="accrued",
        at=at,
        referral_id="ref_0123456789abcdef0123",
        opportunity_id="o-1",
        originator="north",
        payer="south",
        payee="north",
        amount=Decimal("10.00"),
        currency="EUR",
        terms_version=1,
        approve_at=at + timedelta(days=30),
    )
    env = {
        **os.environ,
        "OPPBUS_TOPIC_PREFIX": api.settings.topic_prefix,
        "OPPBUS_SERVICE_KEY": api.settings.service_key.get_secret_value(),  # as the bus's own
        "OPPBUS_DATA_KEYS": api.settings.data_keys.get_secret_value(),
    }
    argv = [sys.executable, "-m", "ops.cli", "fees", "verify", "--broker", api.settings.broker_url]
    keyless = {k: v for k, v in env.items() if k != "OPPBUS_SERVICE_KEY"}
    refused = await asyncio.to_thread(
        subprocess.run, argv, env=keyless, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "OPPBUS_SERVICE_KEY" in refused.stderr  # never vacuous
    clean = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert "agrees" in clean.stdout
    await api.emit_to("fees", forged)
    found = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True)
    assert found.returncode == 1, found.stdout + found.stderr
    assert forged.referral_id in found.stdout and "1 differ" in found.stderr
