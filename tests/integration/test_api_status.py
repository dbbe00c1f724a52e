"""The API app built by ``build_api_app`` serves the status page and the funnel on /metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from ops.api import build_api_app
from streams.settings import Settings
from tests.integration.test_status_feed import publish, story_events

pytestmark = pytest.mark.kafka


async def test_api_app_has_status_routes_and_funnel_metrics(settings: Settings) -> None:
    app = build_api_app(settings, CollectorRegistry())
    async with TestClient(TestServer(app)) as client:
        await publish(settings, story_events(datetime.now(UTC)))
        text = ""
        for _ in range(150):  # bounded: up to ~30 s for the feed to read the story
            resp = await client.get("/metrics")
            text = await resp.text()
            if "oppbus_referrals_won_total 1.0" in text:
                break
            await asyncio.sleep(0.2)
        assert "oppbus_referrals_won_total 1.0" in text
        assert "oppbus_opportunities_published_total 1.0" in text
        resp = await client.get("/status")
        assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
        summary = await (await client.get("/v1/status/summary")).json()
        assert summary["funnel"]["won"] == 1
