"""``oppbus bench api``: the HTTP API's cost over the broker itself, and lead stream latency.

It starts an embedded broker (or uses ``--broker``) and the API in-process on a loopback port, then:

1. **raw** (baseline): the same encoded opportunities sent by one aiokafka producer with
   ``acks=all``, ``--concurrency`` sends in flight, each awaited — what the broker alone costs;
2. **http**: ``POST /v1/opportunities`` with the same bodies and the same concurrency through an
   aiohttp client — validation, auth, publish with ``acks=all`` and the read-your-writes wait;
3. **sse**: ``--leads`` offers written to the referrals topic for one partner subscribed to
   ``GET /v1/leads/stream``: time from the broker's acknowledgement to the lead at the client.

Modes 1 and 2 alternate for ``--rounds`` rounds (the shared machine's load drifts); figures are
medians: requests/s and p50/p99 latency in ms, and the http/raw ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiohttp import ClientSession, ClientTimeout, web
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from ops.api import build_api_app
from ops.broker import EmbeddedBroker
from ops.procs import free_port
from schemas.events import event_key
from schemas.ids import referral_id
from schemas.opportunity import Opportunity
from schemas.referrals import OfferMade, ScoreReason, Teaser
from streams.record_auth import RecordAuth
from streams.runtime import ensure_topics
from streams.settings import Settings, load_settings

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = "HTTP API: POST /v1/opportunities vs raw acks=all producer; SSE lead latency."
ADMIN = "bench-admin-token-0123456789abcdef"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=1000, help="opportunities per mode")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    parser.add_argument("--leads", type=int, default=300, help="offers streamed over SSE (300)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds, medians (2)")
    parser.add_argument("--broker", help="kafka://host:port (default: an embedded broker)")


def _say(msg: str) -> None:
    print(f"bench api: {msg}", file=sys.stderr, flush=True)


def _body(i: int, tag: str) -> dict[str, Any]:
    return {
        "opportunity_id": f"{tag}-{i}",
        "needs": ["storage"],
        "region": "US-CA",
        "industry": "healthcare",
        "deal_size": {"amount": "250000.00", "currency": "USD"},
        "expected_close": "2027-03-31",
        "customer": {"company": f"Customer {i}", "domain": f"c{i}.example.com"},
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def _drive(n: int, concurrency: int, one: Any) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            start = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start), latencies


async def _raw(settings: Settings, n: int, concurrency: int, tag: str) -> tuple[float, list[float]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=0
    )
    await producer.start()
    now = datetime.now(UTC)

    async def one(i: int) -> None:
        event = Opportunity.model_validate(
            {**_body(i, tag), "originator": "bench-nw", "published_at": now}
        )
        topic, key = settings.topic("opportunities"), event_key(event)
        enc = RecordAuth.from_settings(settings).encode(topic, key, event, source="urn:bench")
        await producer.send_and_wait(topic, enc.value, key=key, headers=enc.headers)

    try:
        return await _drive(n, concurrency, one)
    finally:
        await producer.stop()


async def _http(
    session: ClientSession, base: str, key: str, n: int, concurrency: int, tag: str
) -> tuple[float, list[float]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def one(i: int) -> None:
        async with session.post(
            f"{base}/v1/opportunities", data=orjson.dumps(_body(i, tag)), headers=headers
        ) as resp:
            if resp.status != 202:
                raise RuntimeError(f"POST answered {resp.status}: {await resp.text()}")

    return await _drive(n, concurrency, one)


def _offer(i: int, now: datetime) -> OfferMade:
    return OfferMade(
        referral_id=referral_id("bench-nw", f"sse-{i}", "bench-st"),
        opportunity_id=f"sse-{i}",
        originator="bench-nw",
        partner_id="bench-st",
        round=1,
        rank=1,
        score=50.0,
        reasons=(ScoreReason(factor="fit", points=50.0),),
        teaser=Teaser(
            needs=("storage",),
            region="US-CA",
            industry="healthcare",
            size_band="250k-1m",
            currency="USD",
            expected_close=datetime(2027, 3, 31).date(),
        ),
        offered_at=now,
        expires_at=now + timedelta(hours=1),
    )


async def _sse(
    settings: Settings, session: ClientSession, base: str, key: str, n: int
) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    acked: dict[str, float] = {}
    latencies: list[float] = []
    auth = RecordAuth.from_settings(settings)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with session.get(f"{base}/v1/leads/stream", headers=headers) as resp:
            now = datetime.now(UTC)
            for i in range(n):
                event = _offer(i, now)
                topic, rkey = settings.topic("referrals"), event_key(event)
                enc = auth.encode(topic, rkey, event, source="urn:bench")
                await producer.send_and_wait(topic, enc.value, key=rkey, headers=enc.headers)
                acked[event.referral_id] = time.perf_counter()
                line = await _next_lead(resp)
                latencies.append(time.perf_counter() - acked[line])
    finally:
        await producer.stop()
    return latencies


async def _next_lead(resp: Any) -> str:
    async for raw in resp.content:
        if raw.startswith(b"data: "):
            return str(orjson.loads(raw[6:])["referral_id"])
    raise RuntimeError("the lead stream ended")


async def _main(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    await ensure_topics(settings)
    # one customer domain per opportunity: the conflict-check budget would refuse most of them
    update = {"admin_token": SecretStr(ADMIN), "conflict_checks_per_hour": 0}
    app = build_api_app(settings.model_copy(update=update))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with ClientSession(timeout=ClientTimeout(total=60)) as session:
            keys = {}
            for pid, caps in (("bench-nw", ["networking"]), ("bench-st", ["storage"])):
                profile = {"name": pid, "kind": "reseller", "capabilities": caps, "regions": ["US"]}
                async with session.put(
                    f"{base}/v1/partners/{pid}",
                    json=profile,
                    headers={"Authorization": f"Bearer {ADMIN}"},
                ) as resp:
                    keys[pid] = (await resp.json())["api_key"]
            raw: list[tuple[float, list[float]]] = []
            http: list[tuple[float, list[float]]] = []
            for r in range(args.rounds):
                _say(f"round {r + 1}/{args.rounds}")
                raw.append(await _raw(settings, args.requests, args.concurrency, f"raw{r}"))
                http.append(
                    await _http(
                        session, base, keys["bench-nw"], args.requests, args.concurrency, f"h{r}"
                    )
                )
            sse = await _sse(settings, session, base, keys["bench-st"], args.leads)
    finally:
        await runner.cleanup()
    raw_rate = statistics.median(x[0] for x in raw)
    http_rate = statistics.median(x[0] for x in http)
    return {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "raw_producer_per_s": round(raw_rate, 1),
        "raw_p50_ms": statistics.median(_pct(x[1], 0.5) for x in raw),
        "raw_p99_ms": statistics.median(_pct(x[1], 0.99) for x in raw),
        "http_post_per_s": round(http_rate, 1),
        "http_p50_ms": statistics.median(_pct(x[1], 0.5) for x in http),
        "http_p99_ms": statistics.median(_pct(x[1], 0.99) for x in http),
        "http_over_raw": round(http_rate / raw_rate, 3),
        "sse_leads": args.leads,
        "sse_ack_to_client_p50_ms": _pct(sse, 0.5),
        "sse_ack_to_client_p99_ms": _pct(sse, 0.99),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bench-api-{uuid.uuid4().hex[:6]}"
    if args.broker:
        settings = load_settings({"broker": args.broker, "topic_prefix": prefix}, env={})
        return asyncio.run(_main(args, settings))
    log = Path(tempfile.mkdtemp(prefix="oppbus-bench-api-")) / "broker.log"
    broker = EmbeddedBroker(port=free_port(), log_path=log)
    broker.start()
    try:
        settings = load_settings({"broker": broker.url, "topic_prefix": prefix}, env={})
        return asyncio.run(_main(args, settings))
    finally:
        broker.stop()
