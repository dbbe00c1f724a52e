"""``oppbus bench scorecards``: how fast one worker folds the referral ledger into scorecards.

It starts an embedded broker (or uses ``--broker``), fills the ``referrals`` topic with ``--events``
ledger events (referrals between ``--partners`` partners going offered -> accepted | declined |
expired, accepted -> won | lost), then, on the same broker and topic shapes:

1. **raw**: a plain aiokafka consume -> transform -> produce pass-through over those records
   (``getmany(1000)``, ``orjson`` decode, set a field, encode, ``send`` without awaiting each
   delivery, commit per batch) — the reference of ``docs/upstream/faust-throughput.md``;
2. **scorecards**: one ``oppbus worker`` process consuming the same records; the bench follows
   ``partner-stats`` until every partner's snapshot reaches the revision the pure fold predicts, and
   checks the last snapshots equal the fold's figures.

Figures: ledger events/s for both (scorecards: from the first to the last snapshot's broker
timestamp, so the worker's start-up and group join are left out; also the wall time from the
worker's start), their ratio, snapshots published, and ``correct``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.broker import EmbeddedBroker
from ops.procs import free_port, spawn, stop
from schemas.common import Contract, Money
from schemas.events import event_key
from schemas.ids import referral_id
from schemas.samples import example
from streams.record_auth import RecordAuth
from streams.runtime import ensure_topics
from streams.scorecards.facts import fact_of
from streams.scorecards.fold import PartnerAggregate, RefState, Role, apply
from streams.scorecards.state import snapshot
from streams.settings import Settings, load_settings

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Scorecards: ledger events/s folded into partner-stats by one worker, against a raw aiokafka "
    "consume-transform-produce pass-through on the same broker and topics."
)
LIFECYCLES = (
    ("offered", "accepted", "won"),
    ("offered", "accepted", "lost"),
    ("offered", "declined"),
    ("offered", "expired"),
    ("offered", "accepted"),
    ("offered",),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=30_000, help="ledger events (30000)")
    parser.add_argument("--partners", type=int, default=40, help="partners (40)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic (4)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after, s (300)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument("--broker", help="kafka://host:port (default: an embedded broker)")


def ledger(count: int, partners: int, seed: int) -> list[Contract]:
    """About ``count`` ledger events, each referral's in lifecycle order, referrals interleaved."""
    rng = random.Random(seed)
    ids = [f"bench-{i:04d}" for i in range(partners)]
    t0 = datetime(2026, 11, 24, tzinfo=UTC)
    templates = {
        s: example(f"io.oppbus.referral.{s}.v1") for s in {s for c in LIFECYCLES for s in c}
    }
    events: list[Contract] = []
    n = 0
    while len(events) < count:
        giver, receiver = rng.sample(ids, 2)
        opp = f"o{n}"
        n += 1
        at = t0 + timedelta(seconds=rng.randint(0, 86_400))
        for step, status in enumerate(rng.choice(LIFECYCLES)):
            fields: dict[str, Any] = {
                "referral_id": referral_id(giver, opp, receiver),
                "opportunity_id": opp,
                "originator": giver,
                "partner_id": receiver,
                f"{status}_at": at + timedelta(seconds=600 * step + rng.randint(0, 300)),
            }
            if status == "offered":
                fields["expires_at"] = fields["offered_at"] + timedelta(days=2)
            if status == "won":
                fields["amount"] = Money(amount=f"{rng.randint(1, 99_999)}.00", currency="USD")
            events.append(templates[status].model_copy(update=fields))
    return events


def expected_cards(events: list[Contract]) -> dict[str, dict[str, Any]]:
    """The scorecards the pure fold gives for ``events`` (what the worker must publish last)."""
    refs: dict[tuple[str, str], RefState] = {}
    aggs: dict[str, PartnerAggregate] = {}
    roles: tuple[Role, ...] = ("receiver", "giver")
    for seq, event in enumerate(events):
        fact = fact_of(event)
        assert fact is not None
        for role in roles:
            partner = fact.partner(role)
            key = (partner, fact.referral_id)
            agg = aggs.get(partner) or PartnerAggregate(partner)
            ref, aggs[partner] = apply(refs.get(key), agg, fact, role, seq)
            if ref is not None:
                refs[key] = ref
    return {p: snapshot(agg) for p, agg in aggs.items()}


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env.update(
        OPPBUS_TOPIC_PREFIX=settings.topic_prefix,
        OPPBUS_APP_ID=settings.app_id,
        OPPBUS_SESSION_TIMEOUT_S=str(settings.session_timeout_s),
        OPPBUS_WORKER_WEB_PORT=str(free_port()),
        OPPBUS_SERVICE_KEY=settings.service_key.get_secret_value(),
        OPPBUS_DATA_KEYS=settings.data_keys.get_secret_value(),
    )
    return env


async def _fill(settings: Settings, events: list[Contract]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=5, max_batch_size=262_144
    )
    try:
        await producer.start()
        topic = settings.topic("referrals")
        auth = RecordAuth.from_settings(settings)
        for event in events:
            key = event_key(event)
            enc = auth.encode(topic, key, event, source="urn:oppbus:bench-scorecards")
            await producer.send(topic, enc.value, key=key, headers=enc.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def _raw(settings: Settings, total: int) -> float:
    """Messages/s of a plain aiokafka consume -> transform -> produce loop over the ledger."""
    topic, sink = settings.topic("referrals"), settings.topic("bench-raw-out")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        await admin.start()
        await admin.create_topics([NewTopic(sink, settings.partitions, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.app_id + "-raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=5, max_batch_size=262_144
    )
    try:
        await consumer.start()
        await producer.start()
        seen, started = 0, 0.0
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if batches and not started:
                started = time.perf_counter()
            for records in batches.values():
                for rec in records:
                    data = orjson.loads(rec.value or b"{}")
                    data["seen"] = True
                    await producer.send(
                        sink, orjson.dumps(data), key=rec.key, headers=list(rec.headers)
                    )
                seen += len(records)
            if batches:
                await producer.flush()
                await consumer.commit()
        return total / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def _follow(
    settings: Settings, expected: dict[str, dict[str, Any]], wait_s: float
) -> dict[str, Any]:
    """Read partner-stats until every partner reaches its expected revision."""
    consumer = AIOKafkaConsumer(
        settings.topic("partner-stats"),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    last: dict[str, dict[str, Any]] = {}
    first_ts = last_ts = 0
    snapshots = 0
    deadline = time.monotonic() + wait_s
    try:
        pending = set(expected)
        while pending and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for rec in records:
                    card = orjson.loads(rec.value or b"{}")
                    partner = card["partner_id"]
                    snapshots += 1
                    first_ts = rec.timestamp if not first_ts else min(first_ts, rec.timestamp)
                    last_ts = max(last_ts, rec.timestamp)
                    last[partner] = card
                    if card["revision"] >= expected[partner]["revision"]:
                        pending.discard(partner)
        seconds = (last_ts - first_ts) / 1000 if last_ts > first_ts else None
        return {
            "snapshots": snapshots,
            "fold_seconds": seconds,
            "complete": not pending,
            "correct": last == expected,
        }
    finally:
        await consumer.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = "scb" + uuid.uuid4().hex[:8]
    logs = Path(tempfile.mkdtemp(prefix="oppbus-bench-scorecards-"))
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
        events = ledger(args.events, args.partners, args.seed)
        expected = expected_cards(events)
        asyncio.run(_fill(settings, events))
        print(f"bench scorecards: {len(events)} events, logs in {logs}", file=sys.stderr)
        raw_rate = asyncio.run(_raw(settings, len(events)))
        argv = [sys.executable, "-m", "ops.cli", "worker", "--broker", settings.broker_url]
        argv += ["--http-port", str(free_port()), "--log-level", "warning"]
        argv += ["--partitions", str(args.partitions)]
        started = time.perf_counter()
        proc = spawn(argv, log=logs / "worker.log", env=_worker_env(settings))
        try:
            followed = asyncio.run(_follow(settings, expected, args.timeout))
        finally:
            stop(proc, timeout=10.0)
        wall = time.perf_counter() - started
        fold_s = followed.pop("fold_seconds")
        rate = len(events) / fold_s if fold_s else None
        return {
            "events": len(events),
            "partners": len(expected),
            "partitions": args.partitions,
            "raw_passthrough_msgs_per_s": round(raw_rate),
            "scorecards_events_per_s": round(rate) if rate else None,
            "ratio_to_raw": round(rate / raw_rate, 3) if rate else None,
            "wall_seconds_from_worker_start": round(wall, 2),
            **followed,
        }
    finally:
        if broker is not None:
            broker.stop()
