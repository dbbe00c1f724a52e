"""The funnel feed on the real broker: ledger events in, status summary and metrics out."""

from __future__ import annotations

import asyncio
import gc
import re
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import CollectorRegistry

from ops.funnel import FunnelRecorder
from ops.funnel_feed import FunnelFeed
from ops.status_board import StatusBoard
from ops.status_page import install_status
from schemas.codec import encode
from schemas.events import event_key, event_topic
from schemas.ids import referral_id
from schemas.samples import example
from streams.metrics import ReferralMetrics
from streams.record_auth import RecordAuth
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.integration import chromium
from tests.integration.polling import wait_for

pytestmark = pytest.mark.kafka

P = "io.oppbus."


def story_events(now: datetime) -> list:
    ids = dict(originator="northwind-networks", opportunity_id="nw-2026-0042")
    a = referral_id(ids["originator"], ids["opportunity_id"], "contoso-storage")
    return [
        example(P + "opportunity.published.v1").model_copy(update={"published_at": now}),
        example(P + "referral.offered.v1").model_copy(
            update={"referral_id": a, "offered_at": now, "expires_at": now + timedelta(days=2)}
        ),
        example(P + "referral.accepted.v1").model_copy(
            update={"referral_id": a, "accepted_at": now + timedelta(seconds=5)}
        ),
        example(P + "referral.won.v1").model_copy(
            update={"referral_id": a, "won_at": now + timedelta(seconds=9)}
        ),
        example(P + "opportunity.unroutable.v1").model_copy(
            update={"opportunity_id": "nw-2026-0043", "at": now, "excluded": {"competing": 2}}
        ),
        example(P + "deadletter.recorded.v1").model_copy(update={"at": now, "reason": "schema"}),
    ]


async def publish(settings: Settings, events: list) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    auth = RecordAuth.from_settings(settings)
    try:
        # Before the story, on every partition of the ledger: a well-formed win the bus did not
        # write (no MAC). Each partition is read in order, so were it counted the funnel would
        # show two wins by the time it shows the story's.
        referrals = settings.topic("referrals")
        for partition in sorted(await producer.partitions_for(referrals)):
            forged = example(P + "referral.won.v1").model_copy(
                update={
                    "referral_id": referral_id("mallory", "forged", f"p{partition}"),
                    "won_at": datetime.now(UTC),
                }
            )
            encoded = encode(forged, source="urn:attacker")
            await producer.send_and_wait(
                referrals, encoded.value, key=event_key(forged), partition=partition,
                headers=encoded.headers,
            )  # fmt: skip
        for event in events:
            encoded = encode(event, source="urn:test")
            topic, key = settings.topic(event_topic(event)), event_key(event)
            await producer.send_and_wait(
                topic,
                encoded.value,
                key=key,
                headers=auth.stamp(topic, key, encoded.value, encoded.headers),
            )
        # Garbage on a fed topic is skipped, not fatal.
        await producer.send_and_wait(settings.topic("referrals"), b"not an event", key=b"x")
    finally:
        await producer.stop()


async def test_feed_fills_summary_metrics_lag_and_worker_up(settings: Settings) -> None:
    await ensure_topics(settings)
    now = datetime.now(UTC)
    await publish(settings, story_events(now))

    # A stand-in for a worker: a live member of the workers' group that has processed nothing.
    worker = AIOKafkaConsumer(
        settings.topic("opportunities"),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.app_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=4000,
        heartbeat_interval_ms=500,
    )
    registry = CollectorRegistry()
    app = web.Application()
    install_status(app, settings, registry, lag_interval_s=0.3)
    server = TestServer(app)
    try:
        await worker.start()
        await wait_for(lambda: _assigned(worker), every=0.2)
        await worker.commit(dict.fromkeys(worker.assignment(), 0))  # lag: 1 opportunity
        await server.start_server()
        async with ClientSession(base_url=str(server.make_url("/"))) as http:

            async def summary() -> dict | None:
                async with http.get("/v1/status/summary") as resp:
                    assert resp.status == 200
                    body = await resp.json()
                ready = body["funnel"]["won"] == 1 and body["lag"] and body["worker_up"]
                return body if ready else None

            body = await wait_for(summary, every=0.2, what="the feed delivering the story")
            async with http.get("/status") as resp:
                html = await resp.text()
                assert resp.status == 200 and "oppbus status" in html
            async with http.get("/status/status.js") as resp:
                assert "application/javascript" in resp.headers["Content-Type"]
    finally:
        await server.close()
        await worker.stop()

    assert body["funnel"]["published"] == 1
    assert body["funnel"]["offered"] == 1
    assert body["funnel"]["accepted"] == 1
    assert body["funnel"]["unroutable"] == 1
    assert body["unroutable"] == [{"rule": "competing", "count": 1}]
    assert body["dead_letters"]["total"] == 1
    assert body["rates"]["acceptance"] == 1.0
    assert body["lag"]["opportunities"] == 1
    assert body["worker_up"] is True
    assert registry.get_sample_value("oppbus_referrals_won_total") == 1
    assert registry.get_sample_value("oppbus_consumer_lag", {"topic": "opportunities"}) == 1
    assert registry.get_sample_value("oppbus_worker_up") == 1
    assert registry.get_sample_value("oppbus_time_to_accept_seconds_sum") == 5.0


async def _assigned(consumer: AIOKafkaConsumer) -> bool:
    await consumer.getmany(timeout_ms=200)
    return bool(consumer.assignment())


async def test_feed_waits_for_missing_topics_without_failing_the_app(settings: Settings) -> None:
    app = web.Application()
    install_status(app, settings, CollectorRegistry(), lag_interval_s=0.3)
    server = TestServer(app)
    await server.start_server()
    try:
        async with ClientSession(base_url=str(server.make_url("/"))) as http:

            async def waiting() -> dict | None:
                async with http.get("/v1/status/summary") as resp:
                    body = await resp.json()
                return body if body["feed"]["error"] else None

            body = await wait_for(waiting, within=10, every=0.2)
        assert "waiting for topics" in body["feed"]["error"]
        assert body["funnel"]["published"] == 0
    finally:
        await server.close()


async def test_status_page_shows_the_funnel_in_headless_chromium(settings: Settings, tmp_path):
    chromium.chromium_binary()  # fail on CI / skip locally before doing any work without it
    await ensure_topics(settings)
    await publish(settings, story_events(datetime.now(UTC)))
    app = web.Application()
    install_status(app, settings, CollectorRegistry(), lag_interval_s=0.3)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/status"))
        async with ClientSession() as http:

            async def won() -> bool:
                async with http.get(str(server.make_url("/v1/status/summary"))) as resp:
                    return (await resp.json())["funnel"]["won"] == 1

            await wait_for(won, every=0.2, what="a won referral on the summary")
        dom = await asyncio.to_thread(chromium.dump_dom, url, tmp_path)
        png = await asyncio.to_thread(chromium.screenshot, url, tmp_path)
    finally:
        await server.close()
    for step, count in {"published": 1, "offered": 1, "accepted": 1, "won": 1}.items():
        assert re.search(f'data-step="{step}"[^>]*>{count}<', dom), step
    assert re.search('data-count="competing"[^>]*>1<', dom)
    assert "workers ?" in dom or "workers down" in dom
    width, height, colours = chromium.png_pixels(png)
    assert (width, height) == (1280, 1000)
    assert len(colours) > 50, "the screenshot is (nearly) blank"
    for colour in ("#60a5fa", "#a78bfa", "#34d399", "#fbbf24"):  # the four funnel bars
        assert chromium.near(colours, colour) > 100, f"no {colour} funnel bar in the screenshot"


async def test_feed_stopped_while_starting_leaves_no_unclosed_client(settings: Settings) -> None:
    """Regression: an API stopped right after start (restart tests) cancelled the feed inside
    consumer.start(), leaving an unclosed AIOKafkaConsumer (ResourceWarning at GC)."""
    await ensure_topics(settings)
    for delay in (0.0, 0.005, 0.02, 0.05, 0.2, 0.5):
        recorder = FunnelRecorder(ReferralMetrics(CollectorRegistry()), StatusBoard())
        feed = FunnelFeed(settings, recorder, lag_interval_s=0.3)
        await feed.start()
        await asyncio.sleep(delay)
        await feed.stop()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gc.collect()
