"""Slow and greedy clients of issue 17 against the real API app (embedded broker).

Each test reproduces one attack and shows the other partners are unaffected:

- 260 slow-body POSTs to ``/v1/crm/hubspot/{partner}`` (Content-Length 100000, one byte sent) used
  to take every in-flight slot before authentication (every partner got ``503``); now bodies are
  read within a deadline before a request counts in flight, one address holds few unfinished
  bodies, and the slow ones end with a JSON ``408``;
- one partner opening many lead streams used to take the server-wide stream cap; now each partner
  has its own cap and a closed stream frees its slot at once;
- ``bEaReR   KEY`` spellings of one key used to get a rate bucket each; now the bucket is the
  authenticated partner's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from connectors.http.limits import SHEDDER_KEY
from streams.settings import Settings
from tests.integration.api.conftest import Harness, opportunity
from tests.security.conftest import harness_with
from tests.slow_bodies import slow_bodies

pytestmark = pytest.mark.kafka


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(
        settings, http_body_timeout_s=2.0, http_max_streams_per_partner=3
    ):
        yield harness


@pytest.fixture
async def strict_api(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(settings, http_rate_per_client=0.5, http_burst_per_client=4):
        yield harness


async def test_260_slow_crm_bodies_lock_no_partner_out(api: Harness) -> None:
    await api.register("crm-victim")
    other = await api.register("busy-partner")
    before = await api.end_offsets()
    conns = await slow_bodies(api.client.port, "/v1/crm/hubspot/crm-victim", 260)
    try:
        await asyncio.sleep(0.2)
        shedder = api.client.server.app[SHEDDER_KEY]
        assert shedder.in_flight == 0
        resp = await api.client.post(
            "/v1/opportunities", json=opportunity(opportunity_id="slow-1"), headers=other
        )
        assert resp.status == 202, await resp.text()
        assert (await api.client.get("/v1/leads", headers=other)).status == 200
        answers = await asyncio.gather(*(asyncio.wait_for(r.read(4096), 10) for r, _ in conns))
    finally:
        for _, writer in conns:
            writer.close()
    statuses = [a.split(b" ", 2)[1] for a in answers]
    assert set(statuses) == {b"408", b"429"}, set(statuses)
    assert all(b'"error":' in a and b"application/json" in a for a in answers)
    after = await api.end_offsets()
    assert after["opportunities"] == before["opportunities"] + 1  # only the partner's own


async def test_one_partner_cannot_take_every_lead_stream(api: Harness) -> None:
    greedy = await api.register("greedy-streams")
    other = await api.register("other-streams")
    shedder = api.client.server.app[SHEDDER_KEY]
    spellings = ["Bearer", "bearer", "BEARER  "]
    held = []
    for scheme in spellings:
        key = greedy["Authorization"].split(" ", 1)[1]
        resp = await api.client.get(
            "/v1/leads/stream", headers={"Authorization": f"{scheme} {key}"}
        )
        assert resp.status == 200
        held.append(resp)
    refused = await api.client.get("/v1/leads/stream", headers=greedy)
    assert refused.status == 429 and (await refused.json())["error"] == "too_many_streams"
    served = await api.client.get("/v1/leads/stream", headers=other)
    assert served.status == 200
    assert shedder.streams == 4
    for resp in held:
        resp.close()  # the clients go away: their slots are free within a poll, no heartbeat
    for _ in range(50):
        if shedder.streams == 1:
            break
        await asyncio.sleep(0.05)
    assert shedder.streams == 1
    again = await api.client.get("/v1/leads/stream", headers=greedy)
    assert again.status == 200
    again.close()
    served.close()


async def test_spellings_of_one_key_share_one_rate_bucket(strict_api: Harness) -> None:
    greedy = await strict_api.register("greedy-rate")
    key = greedy["Authorization"].split(" ", 1)[1]
    spellings = [f"Bearer {key}", f"bEaReR   {key}", f"BEARER {key}", f"bearer {key}  "] * 2
    statuses = [
        (await strict_api.client.get("/v1/leads", headers={"Authorization": s})).status
        for s in spellings
    ]
    assert statuses.count(200) <= 5 and statuses[-1] == 429, statuses
    other = await strict_api.register("calm-rate")
    assert (await strict_api.client.get("/v1/leads", headers=other)).status == 200
