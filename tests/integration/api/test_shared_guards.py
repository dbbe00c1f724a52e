"""Replay guards shared by API processes: two APIs on one broker, and a third started later.

A request with an ``Idempotency-Key`` answered by one API is replayed (not published again) by the
other and by one started afterwards (a restart), and the same key with another body is a 422
everywhere; a signed Salesforce request accepted by one API is a replay (409) at the others.
Exactly one opportunity per request reaches the bus.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr

import connectors.crm
from connectors.crm.signatures import salesforce_signature
from ops.api import build_api_app
from streams.settings import Settings
from tests.integration.api.conftest import ADMIN_TOKEN, opportunity, profile

pytestmark = pytest.mark.kafka

SAMPLES = Path(connectors.crm.__file__).parent / "samples"
SF_SECRET = "sf-shared-secret-for-tests-0123456789"
SF_PATH = "/v1/crm/salesforce/sf-reseller"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def configured(settings: Settings, tmp_path: Path) -> Settings:
    sf = (SAMPLES / "salesforce_mapping.json").read_text()
    (tmp_path / "sf-reseller.json").write_text(
        sf.replace("replace-with-a-long-random-shared-secret", SF_SECRET)
    )
    return settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN), "crm_dir": tmp_path})


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def _api(stack: AsyncExitStack, settings: Settings) -> TestClient:
    client = TestClient(TestServer(build_api_app(settings)))
    await client.start_server()
    stack.push_async_callback(client.close)
    return client


async def _sees(client: TestClient, path: str) -> None:
    for _ in range(100):
        if (await client.get(path, headers=ADMIN)).status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never visible")


async def _opportunity_records(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(
        settings.topic("opportunities"),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        count, idle = 0, 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            count += sum(len(msgs) for msgs in batch.values())
        return count
    finally:
        await consumer.stop()


async def _two_apis(
    stack: AsyncExitStack, settings: Settings, key: str
) -> tuple[TestClient, TestClient, dict[str, str]]:
    """Two API apps on one broker, partner ``nw`` registered on the first, visible on both;
    ``nw``'s headers with Idempotency-Key ``key``."""
    a, b = await _api(stack, settings), await _api(stack, settings)
    created = await a.put(
        "/v1/partners/nw", json=profile(capabilities=["networking"]), headers=ADMIN
    )
    await _sees(b, "/v1/partners/nw")
    token = (await created.json())["api_key"]
    return a, b, {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


async def test_two_apis_and_a_restarted_one_refuse_each_replay(
    configured: Settings, stack: AsyncExitStack
) -> None:
    a, b, keyed = await _two_apis(stack, configured, "crm-retry-7")
    await a.put("/v1/partners/sf-reseller", json=profile(), headers=ADMIN)
    await _sees(b, "/v1/partners/sf-reseller")

    first = await a.post("/v1/opportunities", json=opportunity(opportunity_id="g-1"), headers=keyed)
    assert first.status == 202, await first.text()
    again = await b.post("/v1/opportunities", json=opportunity(opportunity_id="g-1"), headers=keyed)
    assert again.status == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert await again.json() == await first.json()
    other = await b.post("/v1/opportunities", json=opportunity(opportunity_id="g-2"), headers=keyed)
    assert other.status == 422 and (await other.json())["error"] == "idempotency_key_reused"

    body = (SAMPLES / "salesforce_opportunity.json").read_bytes()
    stamp = str(int(time.time()))
    signed = {
        "Content-Type": "application/json",
        "X-Oppbus-Timestamp": stamp,
        "X-Oppbus-Signature": salesforce_signature(SF_SECRET, stamp, body),
    }
    accepted = await a.post(SF_PATH, data=body, headers=signed)
    assert accepted.status == 202, await accepted.text()
    replayed = await b.post(SF_PATH, data=body, headers=signed)
    assert replayed.status == 409 and (await replayed.json())["error"] == "replayed"

    c = await _api(stack, configured)  # a restarted API: it reads the guards from the log
    late = await c.post("/v1/opportunities", json=opportunity(opportunity_id="g-1"), headers=keyed)
    assert late.status == 202 and late.headers.get("Idempotent-Replayed") == "true"
    assert (await c.post(SF_PATH, data=body, headers=signed)).status == 409
    assert await _opportunity_records(configured) == 2  # one per request, whoever answered


async def test_a_refused_request_frees_its_key_for_a_corrected_retry(
    configured: Settings, stack: AsyncExitStack
) -> None:
    a, b, keyed = await _two_apis(stack, configured, "k")
    bad = await a.post("/v1/opportunities", json=opportunity(region="nowhere"), headers=keyed)
    assert bad.status == 422
    good = await b.post("/v1/opportunities", json=opportunity(), headers=keyed)
    assert good.status == 202 and "Idempotent-Replayed" not in good.headers
