"""Helpers of the webhook integration tests: a real local receiver and bus I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from connectors.webhooks.dispatcher import WebhookDispatcher
from connectors.webhooks.signing import WebhookVerificationError, verify
from schemas.codec import decode, encode
from schemas.common import Contract
from schemas.events import event_key, event_topic
from streams.record_auth import RecordAuth
from streams.settings import Settings
from tests.integration.api.conftest import Harness, harness_with
from tests.integration.polling import wait_for

LIST = "/v1/admin/webhook-deliveries"


@dataclass
class Hit:
    path: str
    webhook_id: str
    status: int
    verified: bool
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    """A real aiohttp server on loopback; each path has its own behaviour."""

    secrets: dict[str, str]
    hits: list[Hit] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""
    failing: bool = True  # the "switch" path answers 500 while this holds, then 200
    holding: bool = False  # the "switch" path records the request (status 0) and never answers
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        body = await request.read()
        wid = request.headers.get("webhook-id", "")
        try:
            verify(self.secrets.get(path, ""), dict(request.headers), body, now=time.time())
            verified = True
        except (WebhookVerificationError, ValueError):
            verified = False
        tries = sum(1 for h in self.hits if h.webhook_id == wid)
        if path == "hang":
            await self.release.wait()
        status = {"ok": 200, "down": 500, "gone": 410, "redirect": 302}.get(path, 200)
        if path == "flaky":
            status = 503 if tries < 2 else 204
        if path == "switch" and self.holding:
            await self._record(Hit(path, wid, 0, verified, body, dict(request.headers)))
            await self.release.wait()
            return web.Response(status=503)  # after the test: the sender is long gone
        if path == "switch":
            status = 500 if self.failing else 200
        await self._record(Hit(path, wid, status, verified, body, dict(request.headers)))
        return web.Response(status=status, headers={"Location": "http://127.0.0.1:1/"})

    async def _record(self, hit: Hit) -> None:
        async with self.changed:
            self.hits.append(hit)
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[Hit]], bool], within: float) -> None:
        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(lambda: predicate(self.hits))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


async def publish(settings: Settings, *events: Contract) -> None:
    """Publish as the bus does: MAC-stamped, private fields sealed with this bus's data keys (a
    worker in another process holds only those; an earlier test may have installed others)."""
    settings.install_data_keys()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    auth = RecordAuth.from_settings(settings)
    try:
        for event in events:
            enc = encode(event, source="urn:test")
            topic, key = settings.topic(event_topic(event)), event_key(event)
            await producer.send_and_wait(
                topic,
                value=enc.value,
                key=key,
                headers=auth.stamp(topic, key, enc.value, enc.headers),
            )
    finally:
        await producer.stop()


async def read_until(
    settings: Settings,
    topic: str,
    done: Callable[[list[Contract]], bool],
    within: float = 20.0,
) -> list[Contract]:
    """Every event of ``topic`` from the start, until ``done(events)`` holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        full = settings.topic(topic)
        for _ in range(50):  # the topic's metadata, asked again until the broker lists it
            if consumer.partitions_for_topic(full):
                break
            await consumer.topics()
            await asyncio.sleep(0.1)
        parts = [TopicPartition(full, p) for p in consumer.partitions_for_topic(full) or ()]
        assert parts, f"the broker does not list {full}"
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen: list[Contract] = []
        async with asyncio.timeout(within):
            while not done(seen):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    seen.extend(decode(r.value, r.headers).event for r in records)
        return seen
    finally:
        await consumer.stop()


@pytest.fixture
async def redrive_hooks(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(
        settings,
        webhook_allowed_networks="127.0.0.0/8",
        webhook_backoff_base_s=0.05,
        webhook_backoff_max_s=0.1,
        webhook_max_attempts=2,
        webhook_timeout_s=2.0,
    ):
        yield harness


async def listed(h: Harness, query: str = "") -> list[dict[str, Any]]:
    resp = await h.client.get(LIST + query, headers=h.admin)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["deliveries"]  # type: ignore[no-any-return]


async def dead_lead(h: Harness, receiver: Receiver) -> tuple[str, dict[str, str]]:
    """A lead whose delivery died at the failing receiver; returns its webhook id and the
    partner's auth headers."""
    vault = await h.register("vault-storage")
    resp = await h.client.put(
        "/v1/partners/vault-storage/webhook", json={"url": f"{receiver.url}/switch"}, headers=vault
    )
    assert resp.status == 201
    receiver.secrets["switch"] = (await resp.json())["secret"]
    dispatcher = WebhookDispatcher(h.settings)
    await dispatcher.start()
    try:
        offer = await h.offer("northwind", "nw-0001", "vault-storage")
        wid = f"{offer.referral_id}.offered"

        async def dead() -> bool:
            return [d["webhook_id"] for d in await listed(h, "?status=dead")] == [wid]

        await wait_for(dead, within=20, what="the dead delivery listed")
    finally:
        await dispatcher.stop()
    return wid, vault
