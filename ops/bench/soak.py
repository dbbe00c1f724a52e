"""``oppbus bench soak``: a fixed rate of opportunities for a set time through a real worker.

It starts an embedded broker (or uses ``--broker``), one or more ``oppbus worker`` processes with
their own topic prefix and group, seeds storage partners, then publishes opportunities at
``--rate`` per second for ``--duration`` seconds and follows the ledger. Figures: throughput in and
out, publish→first-offer latency (p50/p99/max, from the opportunity's ``published_at`` to the offer
record's timestamp), the worker group's consumer lag on the opportunities topic and the workers'
resident memory, each sampled every few seconds and reported at the start (after ``--warmup``) and
at the end, with their growth. ``missing`` counts acknowledged opportunities never offered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from ops.bench.probes import group_lag, percentile, rss_bytes
from ops.broker import EmbeddedBroker
from ops.procs import free_port, spawn, stop
from ops.settings import Settings, load_settings
from ops.topic_admin import ensure_topics
from schemas.codec import decode, encode
from schemas.common import Money
from schemas.errors import InvalidEvent
from schemas.events import event_key
from schemas.opportunity import Customer, Opportunity
from schemas.partner import PartnerProfile
from schemas.referrals import OfferMade

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Soak: opportunities at a fixed rate for a set time through real workers; throughput, "
    "p99 publish-to-offer latency, consumer lag and worker memory at start and end."
)
SOURCE = "urn:oppbus:bench-soak"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=200.0, help="opportunities/s (200)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (600)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before 'start' (30)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="sampling period, s (5)")
    parser.add_argument("--partners", type=int, default=20, help="storage partners seeded (20)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic (4)")
    parser.add_argument("--broker", help="kafka://host:port (default: an embedded broker)")


@dataclass
class _Run:
    settings: Settings
    run_id: str
    published_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    offered: set[str] = field(default_factory=set)
    acked: int = 0
    target: int | None = None  # set when publishing ends: how many offers complete the run
    complete: asyncio.Event = field(default_factory=asyncio.Event)
    samples: list[dict[str, float]] = field(default_factory=list)


def _partners(count: int) -> list[PartnerProfile]:
    now = datetime.now(UTC)
    specs: list[tuple[str, tuple[str, ...]]] = [
        (f"soak-store-{i:03d}", ("storage", "backup")) for i in range(count)
    ]
    specs.append(("soak-origin", ("networking",)))
    return [
        PartnerProfile(
            partner_id=pid,
            name=pid,
            kind="reseller",
            capabilities=caps,
            regions=("US",),
            capacity=100_000,
            version=1,
            updated_at=now,
        )
        for pid, caps in specs
    ]


def _opportunity(run_id: str, index: int) -> Opportunity:
    return Opportunity(
        opportunity_id=f"{run_id}-{index:07d}",
        originator="soak-origin",
        needs=("storage",),
        retains=("networking",),
        region="US-CA",
        industry="healthcare",
        deal_size=Money(amount=Decimal("50000.00"), currency="USD"),
        expected_close=date.today() + timedelta(days=90),
        customer=Customer(company=f"Customer {index}", domain=f"c{index}-{run_id}.example.com"),
        published_at=datetime.now(UTC),
    )


async def _publish(run: _Run, rate: float, duration: float) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=run.settings.bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    topic = run.settings.topic("opportunities")
    pending: list[asyncio.Future[Any]] = []
    sent = 0
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < duration:
            due = int(elapsed * rate) - sent
            for _ in range(max(0, due)):
                opp = _opportunity(run.run_id, sent)
                enc = encode(opp, source=SOURCE)
                run.published_at[opp.opportunity_id] = opp.published_at.timestamp()
                pending.append(
                    await producer.send(topic, enc.value, key=event_key(opp), headers=enc.headers)
                )
                sent += 1
            done = [f for f in pending if f.done()]
            run.acked += sum(1 for f in done if f.exception() is None)
            pending = [f for f in pending if not f.done()]
            await asyncio.sleep(0.02)
        for fut in pending:
            try:
                await fut
                run.acked += 1
            except Exception:  # an unacknowledged send is simply not counted
                continue
    finally:
        await producer.stop()


async def _follow(run: _Run, stop_event: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        run.settings.topic("referrals"),
        bootstrap_servers=run.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        while not stop_event.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for msgs in batch.values():
                for m in msgs:
                    try:
                        env = decode(m.value or b"", m.headers)
                    except InvalidEvent:
                        continue
                    offer = env.event
                    if not isinstance(offer, OfferMade) or offer.opportunity_id in run.offered:
                        continue
                    run.offered.add(offer.opportunity_id)
                    sent_at = run.published_at.get(offer.opportunity_id)
                    if sent_at is not None:
                        run.latencies.append(m.timestamp / 1000.0 - sent_at)
            if run.target is not None and len(run.offered) >= run.target:
                run.complete.set()
    finally:
        await consumer.stop()


async def _sample(run: _Run, pids: list[int], every: float, stop_event: asyncio.Event) -> None:
    bootstrap = run.settings.bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    started = time.monotonic()
    try:
        await admin.start()
        await consumer.start()
        while not stop_event.is_set():
            lag = await group_lag(
                admin, consumer, run.settings.app_id, run.settings.topic("opportunities")
            )
            rss = sum(rss_bytes(pid) or 0 for pid in pids)
            run.samples.append(
                {
                    "t": time.monotonic() - started,
                    "lag": lag,
                    "rss": rss,
                    "offered": len(run.offered),
                }
            )
            try:
                await asyncio.wait_for(stop_event.wait(), every)
            except TimeoutError:
                pass
    finally:
        await consumer.stop()
        await admin.close()


def _window(samples: list[dict[str, float]], lo: float, hi: float, key: str) -> float | None:
    values = [s[key] for s in samples if lo <= s["t"] <= hi]
    return sum(values) / len(values) if values else None


async def _soak(args: argparse.Namespace, run: _Run, pids: list[int]) -> dict[str, Any]:
    producer = AIOKafkaProducer(bootstrap_servers=run.settings.bootstrap_servers, acks="all")
    try:
        await producer.start()
        for profile in _partners(args.partners):
            enc = encode(profile, source=SOURCE)
            await producer.send_and_wait(
                run.settings.topic("partners"),
                enc.value,
                key=event_key(profile),
                headers=enc.headers,
            )
    finally:
        await producer.stop()
    stop_follow, stop_sampling = asyncio.Event(), asyncio.Event()
    follow = asyncio.create_task(_follow(run, stop_follow))
    sampler = asyncio.create_task(_sample(run, pids, args.sample_every, stop_sampling))
    t0 = time.monotonic()
    await _publish(run, args.rate, args.duration)
    published_for = time.monotonic() - t0
    stop_sampling.set()
    await sampler
    run.target = run.acked
    try:  # the backlog left when publishing stops: bounded, a stalled pipeline shows as missing
        await asyncio.wait_for(run.complete.wait(), max(30.0, args.duration / 10))
    except TimeoutError:
        pass
    stop_follow.set()
    await follow
    window = min(60.0, max(args.sample_every, args.duration / 10))
    warm, end = args.warmup, args.duration
    lag_start = _window(run.samples, warm, warm + window, "lag")
    lag_end = _window(run.samples, end - window, end + args.sample_every, "lag")
    rss_start = _window(run.samples, warm, warm + window, "rss")
    rss_end = _window(run.samples, end - window, end + args.sample_every, "rss")
    p50, p99 = percentile(run.latencies, 0.5), percentile(run.latencies, 0.99)
    return {
        "rate_target": args.rate,
        "duration_s": round(published_for, 1),
        "published": len(run.published_at),
        "acknowledged": run.acked,
        "offered": len(run.offered),
        "missing": max(0, run.acked - len(run.offered)),
        "throughput_in_per_s": round(len(run.published_at) / published_for, 1),
        "throughput_out_per_s": round(len(run.offered) / (time.monotonic() - t0), 1),
        "latency_p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "latency_p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "latency_max_ms": round(max(run.latencies) * 1000, 1) if run.latencies else None,
        "lag_start": lag_start,
        "lag_end": lag_end,
        "lag_max": max((s["lag"] for s in run.samples), default=None),
        "rss_start_mb": None if rss_start is None else round(rss_start / 2**20, 1),
        "rss_end_mb": None if rss_end is None else round(rss_end / 2**20, 1),
        "rss_growth_pct": (
            round((rss_end - rss_start) / rss_start * 100, 1) if rss_start and rss_end else None
        ),
        "workers": args.workers,
        "samples": len(run.samples),
    }


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env.update(
        OPPBUS_TOPIC_PREFIX=settings.topic_prefix,
        OPPBUS_APP_ID=settings.app_id,
        OPPBUS_SESSION_TIMEOUT_S=str(settings.session_timeout_s),
        OPPBUS_WORKER_WEB_PORT=str(free_port()),
    )
    return env


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = "soak" + uuid.uuid4().hex[:8]
    logs = Path(tempfile.mkdtemp(prefix="oppbus-soak-"))
    broker = None if args.broker else EmbeddedBroker(log_path=logs / "broker.log").start()
    try:
        settings = load_settings(
            {
                "broker": args.broker or (broker.url if broker else None),
                "topic_prefix": run_id,
                "app_id": run_id,
                "partitions": args.partitions,
                "session_timeout_s": 6.0,
            },
            env={},
        )
        asyncio.run(ensure_topics(settings))
        procs = []
        for i in range(args.workers):
            argv = [sys.executable, "-m", "ops.cli", "worker", "--broker", settings.broker_url]
            argv += ["--http-port", str(free_port()), "--log-level", "warning"]
            argv += ["--partitions", str(args.partitions)]
            procs.append(spawn(argv, log=logs / f"worker{i + 1}.log", env=_worker_env(settings)))
        print(f"soak: {run_id}, logs in {logs}", file=sys.stderr, flush=True)
        try:
            figures = asyncio.run(_soak(args, _Run(settings, run_id), [p.pid for p in procs]))
            figures["workers_alive_at_end"] = sum(1 for p in procs if p.poll() is None)
            return figures
        finally:
            for proc in procs:
                stop(proc, timeout=10.0)
    finally:
        if broker is not None:
            broker.stop()
