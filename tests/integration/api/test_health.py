"""/healthz tells the truth: 503 naming what is still starting until a worker routes, then 200.

An opportunity published the moment /healthz first says 200 is offered at once (no group join
or table recovery left to wait for), and a worker that stops takes the 200 away with it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from connectors.http.health import STALE_INTERVALS
from ops.worker import compose_worker
from streams.runtime import create_app
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.polling import wait_for

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

        await wait_for(healthy, 60, every=0.05, what=lambda: f"healthy; waited for {seen}")
        status, body = await _health(api)
        assert body["workers"] and all(w["state"] == "ready" for w in body["workers"])
        assert body["read_model"]["running"] and body["read_model"]["caught_up"], body

        published = time.monotonic()
        resp = await api.client.post("/v1/opportunities", json=opportunity(), headers=northwind)
        assert resp.status == 202, await resp.text()

        async def offered() -> bool:
            leads = await (await api.client.get("/v1/leads", headers=contoso)).json()
            return bool(leads["leads"])

        left = OFFERED_WITHIN_S - (time.monotonic() - published)
        await wait_for(offered, left, every=0.05, what="the opportunity offered")
    finally:
        await worker.stop()

    # a stopping worker pauses, then says "stopped": gone from /healthz before it goes stale
    last: list[Any] = []

    async def stopped_counts_no_more() -> bool:
        status, body = await _health(api)
        last[:] = [body]
        return status == 503 and any("none has reported" in w for w in body["waiting_for"])

    within = STALE_INTERVALS * api.settings.worker_status_interval_s
    await wait_for(stopped_counts_no_more, within, what=lambda: f"a stopped worker gone: {last}")
