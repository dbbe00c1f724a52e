"""``oppbus bench webhooks``: signed webhook deliveries per second, and what a hanging partner costs.

It starts an embedded broker (or uses ``--broker``) and a local aiohttp receiver on loopback, then:

1. **raw**: the same signed payloads POSTed straight to the receiver by one aiohttp client, one
   request in flight per partner (the dispatcher's own concurrency shape) — the ceiling of
   client + receiver on this machine, with no Kafka in between;
2. **dispatcher**: ``--leads`` offers for ``--partners`` subscribed partners on the ``referrals``
   topic, delivered by a :class:`~connectors.webhooks.dispatcher.WebhookDispatcher`;
3. **with a hanging partner**: the same, plus one partner whose endpoint never answers (it gets a
   lead first; the timeout is ``--timeout`` s) — the healthy partners' rate should not move.

Figures: requests/s of each (receiver-side, first to last 2xx; the dispatcher modes alternate for
``--rounds`` rounds and report medians, as the shared machine's load drifts), the ratios, and
``exactly_once`` (every webhook-id answered 2xx exactly once, every signature valid).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from aiokafka import AIOKafkaProducer

from connectors.webhooks.dispatcher import WebhookDispatcher
from connectors.webhooks.policy import payload
from connectors.webhooks.signing import generate_secret, signed_headers, verify
from ops.broker import EmbeddedBroker
from schemas.common import Contract
from schemas.events import event_key, event_topic
from schemas.ids import referral_id
from schemas.referrals import OfferMade
from schemas.samples import example
from schemas.webhooks import WebhookSubscription
from streams.record_auth import RecordAuth
from streams.runtime import ensure_topics
from streams.settings import Settings, load_settings

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Webhooks: signed deliveries/s through the dispatcher (with and without a hanging partner) "
    "against direct aiohttp POSTs to the same local receiver."
)
SECRET = generate_secret()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=2000, help="offers per run (2000)")
    parser.add_argument("--partners", type=int, default=20, help="subscribed partners (20)")
    parser.add_argument("--timeout", type=float, default=30.0, help="webhook timeout, s (30)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, medians (3)")
    parser.add_argument("--broker", help="kafka://host:port (default: an embedded broker)")


class _Receiver:
    def __init__(self) -> None:
        self.ok: list[float] = []
        self.ids: Counter[str] = Counter()
        self.bad = 0
        self.done = asyncio.Event()
        self.expected = 0
        self.hang = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.match_info["partner"] == "hanging":
            await self.hang.wait()
        try:
            wid = verify(SECRET, dict(request.headers), body, now=time.time())
        except ValueError:
            self.bad += 1
            return web.Response(status=400)
        self.ids[wid] += 1
        self.ok.append(time.perf_counter())
        if len(self.ok) >= self.expected:
            self.done.set()  # the hanging partner's leads never count: it never answers
        return web.Response(status=204)

    def rate(self) -> float:
        span = self.ok[-1] - self.ok[0] if len(self.ok) > 1 else 0.0
        return (len(self.ok) - 1) / span if span else 0.0


def _offers(run: str, leads: int, partners: list[str]) -> list[OfferMade]:
    base = example("io.oppbus.referral.offered.v1")
    assert isinstance(base, OfferMade)
    out = []
    for i in range(leads):
        partner = partners[i % len(partners)]
        opp = f"{run}-{i:06d}"
        out.append(
            base.model_copy(
                update={
                    "opportunity_id": opp,
                    "partner_id": partner,
                    "referral_id": referral_id(base.originator, opp, partner),
                }
            )
        )
    return out


async def _publish(settings: Settings, events: list[Contract]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    try:
        await producer.start()
        auth = RecordAuth.from_settings(settings)
        for event in events:
            topic, key = settings.topic(event_topic(event)), event_key(event)
            enc = auth.encode(topic, key, event, source="urn:bench")
            await producer.send(topic, enc.value, key, headers=enc.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def _raw(offers: list[OfferMade]) -> dict[str, Any]:
    receiver = _Receiver()
    receiver.expected = len(offers)
    runner = await _serve(receiver)
    port = runner.addresses[0][1]
    at = datetime.now(UTC)
    queues: dict[str, list[OfferMade]] = {}
    for offer in offers:
        queues.setdefault(offer.partner_id, []).append(offer)
    async with ClientSession(timeout=ClientTimeout(total=10)) as session:

        async def partner(items: list[OfferMade]) -> None:
            for offer in items:
                body = payload("lead.offered", offer, at)
                wid = f"{offer.referral_id}.offered"
                headers = signed_headers([SECRET], wid, int(time.time()), body)
                async with session.post(
                    f"http://127.0.0.1:{port}/{offer.partner_id}", data=body, headers=headers
                ) as resp:
                    await resp.read()

        await asyncio.gather(*(partner(q) for q in queues.values()))
    await runner.cleanup()
    return {"rate": receiver.rate(), "exactly_once": _once(receiver, offers)}


def _once(receiver: _Receiver, offers: list[OfferMade]) -> bool:
    wanted = {f"{o.referral_id}.offered" for o in offers}
    counts = [receiver.ids[w] for w in wanted]
    return receiver.bad == 0 and all(c == 1 for c in counts)


async def _serve(receiver: _Receiver) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/{partner}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def _dispatch(
    settings: Settings, run: str, args: argparse.Namespace, *, hanging: bool
) -> dict[str, Any]:
    receiver = _Receiver()
    runner = await _serve(receiver)
    port = runner.addresses[0][1]
    partners = [f"{run}-p{i:03d}" for i in range(args.partners)]
    offers = _offers(run, args.leads, partners)
    receiver.expected = len(offers)
    subscribed = [*partners, "hanging"] if hanging else partners
    now = datetime.now(UTC)
    subs: list[Contract] = [
        WebhookSubscription(
            partner_id=p if p != "hanging" else f"{run}-hanging",
            url=f"http://127.0.0.1:{port}/{'hanging' if p == 'hanging' else p}",
            secret=SECRET,
            version=1,
            updated_at=now,
        )
        for p in subscribed
    ]
    stuck: list[Contract] = [*_offers(run + "h", 3, [f"{run}-hanging"])] if hanging else []
    await _publish(settings, [*subs, *stuck, *offers])
    dispatcher = WebhookDispatcher(settings)
    started = time.perf_counter()
    try:
        await dispatcher.start()
        async with asyncio.timeout(300):
            await receiver.done.wait()
    finally:
        receiver.hang.set()
        await dispatcher.stop()
        await runner.cleanup()
    return {
        "rate": receiver.rate(),
        "wall_s": time.perf_counter() - started,
        "exactly_once": _once(receiver, offers),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = "whb" + uuid.uuid4().hex[:8]
    logs = Path(tempfile.mkdtemp(prefix="oppbus-bench-webhooks-"))
    broker = None if args.broker else EmbeddedBroker(log_path=logs / "broker.log").start()
    try:
        results: dict[str, list[dict[str, Any]]] = {"dispatcher": [], "with_hanging": []}
        for n in range(args.rounds):  # alternate modes and their order: the load drifts
            modes = (("dispatcher", False), ("with_hanging", True))
            for name, hanging in modes if n % 2 == 0 else modes[::-1]:
                tag = f"{run_id}{name[:1]}{n}"
                settings = load_settings(
                    {
                        "broker": args.broker or (broker.url if broker else None),
                        "topic_prefix": tag,
                        "app_id": tag,
                        "session_timeout_s": 6.0,
                        "webhook_allowed_networks": "127.0.0.0/8",
                        "webhook_timeout_s": args.timeout,
                    },
                    env={},
                )
                asyncio.run(ensure_topics(settings))
                print(f"bench webhooks: round {n + 1} {name}", file=sys.stderr)
                results[name].append(asyncio.run(_dispatch(settings, tag, args, hanging=hanging)))
        partners = [f"p{i:03d}" for i in range(args.partners)]
        raw = asyncio.run(_raw(_offers(run_id, args.leads, partners)))
        d = {"rate": statistics.median(r["rate"] for r in results["dispatcher"])}
        h = {"rate": statistics.median(r["rate"] for r in results["with_hanging"])}
        once = all(r["exactly_once"] for rs in results.values() for r in rs)
        return {
            "leads": args.leads,
            "partners": args.partners,
            "raw_posts_per_s": round(raw["rate"]),
            "dispatcher_deliveries_per_s": round(d["rate"]),
            "with_hanging_partner_deliveries_per_s": round(h["rate"]),
            "ratio_to_raw": round(d["rate"] / raw["rate"], 3) if raw["rate"] else None,
            "hanging_over_healthy": round(h["rate"] / d["rate"], 3) if d["rate"] else None,
            "rounds": args.rounds,
            "exactly_once": bool(raw["exactly_once"] and once),
        }
    finally:
        if broker is not None:
            broker.stop()
