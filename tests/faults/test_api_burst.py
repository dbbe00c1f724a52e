"""Fault 6: the HTTP API under a burst it cannot take.

A real ``oppbus api`` process with a small in-flight cap gets a burst of concurrent
``POST /v1/opportunities``. Every answer is 202, or 503/429 with ``Retry-After`` (never another
5xx); every 202 is on the opportunities topic (nothing acknowledged lost), no refused request was
published, and a client honouring ``Retry-After`` gets everything in.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from schemas.opportunity import Opportunity
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.bus import read_topic
from tests.faults.figures import report_figures
from tests.faults.procs import ApiProc

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

ADMIN = "admin-token-for-the-fault-suite-0123"
BURST = 1500


def _body(opportunity_id: str) -> dict:
    return {
        "opportunity_id": opportunity_id,
        "needs": ["storage"],
        "region": "US-CA",
        "industry": "healthcare",
        "deal_size": {"amount": "50000.00", "currency": "USD"},
        "expected_close": "2027-03-31",
        "customer": {
            "company": f"Customer {opportunity_id}",
            "domain": f"{opportunity_id}.example.com",
        },
    }


async def _post(session: aiohttp.ClientSession, url: str, key: str, oid: str) -> tuple[int, str]:
    async with session.post(
        url + "/v1/opportunities", json=_body(oid), headers={"Authorization": f"Bearer {key}"}
    ) as resp:
        await resp.read()
        return resp.status, resp.headers.get("Retry-After", "")


async def test_a_burst_is_shed_with_503_and_nothing_acknowledged_is_lost(
    settings: Settings, tmp_path: Path
) -> None:
    await ensure_topics(settings)
    api = ApiProc(
        settings,
        tmp_path / "api.log",
        env={
            "OPPBUS_ADMIN_TOKEN": ADMIN,
            "OPPBUS_HTTP_MAX_IN_FLIGHT": "8",
            "OPPBUS_CONFLICT_CHECKS_PER_HOUR": "0",  # one customer per opportunity, hundreds
        },
    )
    await asyncio.to_thread(api.start)
    try:
        connector = aiohttp.TCPConnector(limit=400)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.put(
                api.url + "/v1/partners/burst-origin",
                json={
                    "name": "Origin",
                    "kind": "reseller",
                    "capabilities": ["networking"],
                    "regions": ["US"],
                },
                headers={"Authorization": f"Bearer {ADMIN}"},
            ) as resp:
                assert resp.status == 201, await resp.text()
                key = (await resp.json())["api_key"]
            ids = [f"burst-{i:05d}" for i in range(BURST)]
            started = time.monotonic()
            answers = await asyncio.gather(*(_post(session, api.url, key, oid) for oid in ids))
            statuses = Counter(status for status, _ in answers)
            accepted = {oid for oid, (status, _) in zip(ids, answers, strict=True) if status == 202}
            refused = [oid for oid, (status, _) in zip(ids, answers, strict=True) if status != 202]
            assert set(statuses) <= {202, 429, 503}, statuses
            assert all(after for status, after in answers if status != 202)
            assert statuses[503] > 0, f"the burst was not beyond capacity: {statuses}"

            published_before_retry = await _published(settings, accepted)
            retries = Counter[str]()
            gate = asyncio.Semaphore(16)

            async def until_accepted(oid: str) -> bool:  # a client honouring Retry-After
                while retries[oid] < 30:
                    retries[oid] += 1
                    async with gate:
                        status, after = await _post(session, api.url, key, oid)
                    if status == 202:
                        return True
                    await asyncio.sleep(float(after or 1))
                return False

            done = await asyncio.gather(*(until_accepted(oid) for oid in refused))
            pending = [oid for oid, ok in zip(refused, done, strict=True) if not ok]
            recovered = time.monotonic() - started
    finally:
        await asyncio.to_thread(api.stop)
    everything = await _published(settings, set(ids))
    report_figures(
        "HTTP API burst",
        events=BURST,
        accepted_first_try=len(accepted),
        shed_503=statuses[503],
        shed_429=statuses[429],
        lost=len(accepted - published_before_retry),
        published_while_refused=len(set(refused) & published_before_retry),
        recovered_s=round(recovered, 1),
        max_retries=max(retries.values(), default=0),
    )
    assert accepted <= published_before_retry, "a 202'd opportunity is not on the bus"
    assert not set(refused) & published_before_retry, "a refused request was published"
    assert not pending, f"{len(pending)} never accepted after 30 tries each"
    assert everything == set(ids)


async def _published(settings: Settings, wanted: set[str]) -> set[str]:
    def ids(records: list) -> set[str]:
        out = set()
        for record in records:
            env = record.envelope
            if env is not None and isinstance(env.event, Opportunity):
                out.add(env.event.opportunity_id)
        return out

    records = await read_topic(
        settings, "opportunities", done=lambda r: wanted <= ids(r), within=30, settle=1.0
    )
    return ids(records) & wanted
