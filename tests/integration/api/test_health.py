"""/healthz tells the truth: 503 naming what is still starting until a worker routes, then 200.

An opportunity published the moment /healthz first says 200 is offered at once (no group join
or table recovery left to wait for), and a worker that stops takes the 200 away with it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from connectors.http.health import STALE_INTERVALS
from ops.worker import compose_worker
from streams.runtime import create_app
from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka

OFFERED_WITHIN_S = 3.0  # a group join alone takes 2 s (session 4 s) and recovery more


async def _health(api: Harness) -> tuple[int, dict[str, Any]]:
    resp = await api.client.get("/healthz")
    return resp.status, await resp.json()


async def test_healthz_is_503_until_a_worker_routes_and_then_routing_is_immediate(
    api: Harness,
) -> None:
    status, body = await _health(api)
    assert status == 503 and body["status"] == "starting"
    assert any("none has reported" in w for w in body["waiting_for"]), body
    live = await api.client.get("/livez")
    assert live.status == 200  # the process itself is fine

    northwind = await api.register("northwind", capabilities=["networking"])
    contoso = await api.register("contoso", capabilities=["storage"])
    worker = create_app(api.settings)
    compose_worker(worker, api.settings)
    await worker.start()
    try:
        seen: list[list[str]] = []

        async def healthy() -> bool:
            status, body = await _health(api)
            if status != 200 and body["waiting_for"] not in seen:
                seen.append(body["waiting_for"])
            return status == 200

        deadline = time.monotonic() + 60
        while not await healthy():
            assert time.monotonic() < deadline, f"never healthy; waited for {seen}"
            await asyncio.sleep(0.05)
        status, body = await _health(api)
        assert body["workers"] and all(w["state"] == "ready" for w in body["workers"])

        published = time.monotonic()
        resp = await api.client.post("/v1/opportunities", json=opportunity(), headers=northwind)
        assert resp.status == 202, await resp.text()

        async def offered() -> bool:
            leads = await (await api.client.get("/v1/leads", headers=contoso)).json()
            return bool(leads["leads"])

        while not await offered():
            assert time.monotonic() - published < OFFERED_WITHIN_S, "not offered in time"
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()

    # a stopping worker pauses, then says "stopped": gone from /healthz before it goes stale
    deadline = time.monotonic() + STALE_INTERVALS * api.settings.worker_status_interval_s
    while True:
        status, body = await _health(api)
        if status == 503 and any("none has reported" in w for w in body["waiting_for"]):
            break
        assert time.monotonic() < deadline, f"a stopped worker still counts: {body}"
        await asyncio.sleep(0.1)
