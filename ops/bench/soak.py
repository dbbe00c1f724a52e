"""``oppbus bench soak``: a fixed rate of opportunities for a set time through a real worker.

It starts an embedded broker (or uses ``--broker``), one or more ``oppbus worker`` processes with
their own topic prefix and group, seeds storage partners, then publishes opportunities at
``--rate`` per second for ``--duration`` seconds and follows the ledger. Each offer is answered as
partners would (``--close``: ``win`` = accept then report won, the default; ``withdraw`` = the
originator withdraws; ``none`` = left open), so opportunities close and the run reaches a steady
state once the state windows (``--closed-retention``, ``--conflict-window``, passed to the workers)
are full; ``--warmup`` should be longer than them. The workers run with ``--fetch-wait-ms``
(100 ms, the sustained-load setting for the embedded broker: see ``SUSTAINED_FETCH_WAIT_MS``).

Figures: throughput in and out, publish→first-offer latency (p50/p99/max, from the opportunity's
``published_at`` to the offer record's timestamp), the router group's consumer lag on the
opportunities topic, the workers' resident memory and the embedded broker's CPU and memory
(``ops/bench/soak_samples.py``), sampled every few seconds and reported at
the start (after ``--warmup``) and at the end, with their growth, and a PASS/FAIL line against
its thresholds (``ops/bench/soak_figures.py``). The lag is computed against the real end of
each partition: the highest offset the broker acknowledged to this bench's producer (Tansu's
ListOffsets reports less once producers batch). ``missing`` counts acknowledged opportunities
never offered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ops.bench.probes import percentile
from ops.bench.soak_api import ApiProcess, publish_via_api, start_api
from ops.bench.soak_figures import (
    LAG_TOLERANCE_S,
    MAX_RSS_GROWTH_PCT,
    judge,
    rate_in_window,
    window_mean,
    windows,
)
from ops.bench.soak_load import ORIGINATOR, answers, opportunity, partners
from ops.bench.soak_samples import SoakRun, sample_loop
from ops.broker import EmbeddedBroker
from ops.procs import free_port, spawn, stop
from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.events import event_key, event_topic
from schemas.referrals import OfferMade
from streams.record_auth import RecordAuth
from streams.runtime import ensure_topics
from streams.settings import Settings, load_settings

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Soak: opportunities at a fixed rate for a set time through real workers; throughput, "
    "p99 publish-to-offer latency, consumer lag and worker memory at start and end."
)
SOURCE = "urn:oppbus:bench-soak"
# Workers' fetch wait in a soak. The embedded broker lists every stored batch of a partition to
# answer a fetch that finds new data (``oppbus bench broker``), so under a sustained rate its cost
# grows with time; fewer, fuller fetches keep 10 minutes at 200/s flat (docs/performance.md, soak).
SUSTAINED_FETCH_WAIT_MS = 100
# the bench's partners read offers at most ten times a second, or once per fetch wait when the
# bus's readers are paced slower: each read lists the whole referrals log on the embedded broker
ANSWER_PACE_S = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=200.0, help="opportunities/s (200)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (600)")
    parser.add_argument("--warmup", type=float, default=90.0, help="seconds before 'start' (90)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="sampling period, s (5)")
    parser.add_argument("--partners", type=int, default=20, help="storage partners seeded (20)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic (4)")
    parser.add_argument("--broker", help="kafka://host:port (default: an embedded broker)")
    parser.add_argument(
        "--close",
        choices=("win", "withdraw", "none"),
        default="win",
        help="how each offered opportunity closes: accepted and won (default), withdrawn, or not",
    )
    parser.add_argument(
        "--closed-retention",
        type=float,
        default=60.0,
        help="workers' closed_retention_s: how long closed opportunities are remembered (60)",
    )
    parser.add_argument(
        "--conflict-window",
        type=float,
        default=60.0,
        help="workers' conflict_window_s: how long customer claims are kept (60)",
    )
    parser.add_argument(
        "--publish",
        choices=("api", "bus"),
        default="api",
        help="how opportunities are published: POST /v1/opportunities to the soak's API process, "
        "as a partner's CRM does (default), or straight onto the bus (the API still follows it)",
    )
    parser.add_argument(
        "--fetch-wait-ms",
        type=int,
        default=SUSTAINED_FETCH_WAIT_MS,
        help="workers' fetch wait, ms (100: the sustained-load setting for the embedded broker, "
        "whose fetches cost more as its logs grow; the workers' default is 10, docs/embedded-broker.md)",
    )


async def _publish(run: SoakRun, rate: float, duration: float) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=run.settings.bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    topic = run.settings.topic("opportunities")
    auth = RecordAuth.from_settings(run.settings)
    pending: list[asyncio.Future[Any]] = []
    sent = 0
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < duration:
            due = int(elapsed * rate) - sent
            for _ in range(max(0, due)):
                opp = opportunity(run.run_id, sent)
                enc = auth.encode(topic, event_key(opp), opp, source=SOURCE)
                run.published_at[opp.opportunity_id] = opp.published_at.timestamp()
                pending.append(
                    await producer.send(topic, enc.value, key=event_key(opp), headers=enc.headers)
                )
                sent += 1
            run.acked += _settle(run, [f for f in pending if f.done()])
            pending = [f for f in pending if not f.done()]
            await asyncio.sleep(0.02)
        if pending:
            await asyncio.wait(pending)
        run.acked += _settle(run, pending)
    finally:
        await producer.stop()


def _settle(run: SoakRun, done: list[asyncio.Future[Any]]) -> int:
    """Count the acknowledged sends and move each partition's real end past them."""
    acked = 0
    for fut in done:
        if fut.exception() is not None:  # an unacknowledged send is simply not counted
            continue
        meta = fut.result()
        tp = TopicPartition(meta.topic, meta.partition)
        run.ends[tp] = max(run.ends.get(tp, 0), meta.offset + 1)
        acked += 1
    return acked


async def _follow(run: SoakRun, stop_event: asyncio.Event, pace_s: float) -> None:
    consumer = AIOKafkaConsumer(
        run.settings.topic("referrals"),
        bootstrap_servers=run.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    # the answers of one read go out together, as one batch: the embedded broker's fetches cost
    # in proportion to the batches stored (an API process batches its requests the same way)
    responder = AIOKafkaProducer(
        bootstrap_servers=run.settings.bootstrap_servers, linger_ms=max(5, int(pace_s * 200))
    )
    auth = RecordAuth.from_settings(run.settings)
    sent: list[asyncio.Future[Any]] = []
    try:
        await consumer.start()
        await responder.start()
        loop = asyncio.get_running_loop()
        while not stop_event.is_set():
            # the partners' side reads the ledger at most every pace_s, as a paced follower
            # does (the latency is the offer's own timestamp, not when it was read)
            next_fetch = loop.time() + pace_s
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
                    for answer in answers(offer, run.close):
                        topic = run.settings.topic(event_topic(answer))
                        enc = auth.encode(topic, event_key(answer), answer, source=SOURCE)
                        sent.append(
                            await responder.send(
                                topic, enc.value, key=event_key(answer), headers=enc.headers
                            )
                        )
                        run.answered += 1
            _settle(run, [f for f in sent if f.done()])
            sent = [f for f in sent if not f.done()]
            if run.target is not None and len(run.offered) >= run.target:
                run.complete.set()
            await asyncio.sleep(max(0.0, next_fetch - loop.time()))
    finally:
        await consumer.stop()
        await responder.stop()


async def _soak(
    args: argparse.Namespace, run: SoakRun, pids: list[int], api: ApiProcess
) -> dict[str, Any]:
    producer = AIOKafkaProducer(bootstrap_servers=run.settings.bootstrap_servers, acks="all")
    try:
        await producer.start()
        auth = RecordAuth.from_settings(run.settings)
        for profile in partners(args.partners):
            topic = run.settings.topic("partners")
            enc = auth.encode(topic, event_key(profile), profile, source=SOURCE)
            await producer.send_and_wait(
                topic,
                enc.value,
                key=event_key(profile),
                headers=enc.headers,
            )
    finally:
        await producer.stop()
    stop_follow, stop_sampling = asyncio.Event(), asyncio.Event()
    pace_s = max(ANSWER_PACE_S, args.fetch_wait_ms / 1000)
    follow = asyncio.create_task(_follow(run, stop_follow, pace_s))
    sampler = asyncio.create_task(sample_loop(run, pids, args.sample_every, stop_sampling))
    load_start = os.getloadavg()
    t0 = time.monotonic()
    if args.publish == "api":
        key = await asyncio.to_thread(api.issue_key, ORIGINATOR)
        await publish_via_api(run, api, key, args.rate, args.duration)
    else:
        await _publish(run, args.rate, args.duration)
    published_for = time.monotonic() - t0
    stop_sampling.set()
    await sampler
    load_end = os.getloadavg()
    run.target = run.acked
    try:  # the backlog left when publishing stops: bounded, a stalled pipeline shows as missing
        await asyncio.wait_for(run.complete.wait(), max(30.0, args.duration / 10))
    except TimeoutError:
        pass
    stop_follow.set()
    await follow
    verdict = judge(
        run.samples,
        warmup=args.warmup,
        duration=args.duration,
        every=args.sample_every,
        rate=args.rate,
    )
    print(f"soak: {verdict.line()}", file=sys.stderr, flush=True)
    (s0, s1), (e0, e1) = windows(args.warmup, args.duration, args.sample_every)

    def mb(value: float | None) -> float | None:
        return None if value is None else round(value / 2**20, 1)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "rate_target": args.rate,
        "duration_s": round(published_for, 1),
        "warmup_s": args.warmup,
        "close": args.close,
        "partitions": args.partitions,
        "fetch_wait_ms": args.fetch_wait_ms,
        "closed_retention_s": args.closed_retention,
        "conflict_window_s": args.conflict_window,
        "published": len(run.published_at),
        "acknowledged": run.acked,
        "offered": len(run.offered),
        "answers_published": run.answered,
        "missing": max(0, run.acked - len(run.offered)),
        "throughput_in_per_s": round(len(run.published_at) / published_for, 1),
        "throughput_out_per_s": round(len(run.offered) / (time.monotonic() - t0), 1),
        "latency_p50_ms": _ms(run.latencies, 0.5),
        "latency_p99_ms": _ms(run.latencies, 0.99),
        "latency_max_ms": round(max(run.latencies) * 1000, 1) if run.latencies else None,
        "published_per_s_end": rounded(verdict.rate_end),
        "rate_ok": verdict.rate_ok,
        **_request_figures(run.request_times),
        "lag_start": rounded(verdict.lag_start),
        "lag_end": rounded(verdict.lag_end),
        "lag_max": max((s["lag"] for s in run.samples), default=None),
        "lag_responses_start": rounded(window_mean(run.samples, s0, s1, "lag_responses")),
        "lag_responses_end": rounded(window_mean(run.samples, e0, e1, "lag_responses")),
        "lag_responses_max": max((s["lag_responses"] for s in run.samples), default=None),
        "lag_tolerance": args.rate * LAG_TOLERANCE_S,
        "broker_cpu_pct_start": _pct(rate_in_window(run.samples, s0, s1, "broker_cpu_s")),
        "broker_cpu_pct_end": _pct(rate_in_window(run.samples, e0, e1, "broker_cpu_s")),
        "worker_cpu_pct_start": _pct(rate_in_window(run.samples, s0, s1, "worker_cpu_s")),
        "worker_cpu_pct_end": _pct(rate_in_window(run.samples, e0, e1, "worker_cpu_s")),
        "api_cpu_pct_start": _pct(rate_in_window(run.samples, s0, s1, "api_cpu_s")),
        "api_cpu_pct_end": _pct(rate_in_window(run.samples, e0, e1, "api_cpu_s")),
        "bench_cpu_pct_start": _pct(rate_in_window(run.samples, s0, s1, "bench_cpu_s")),
        "bench_cpu_pct_end": _pct(rate_in_window(run.samples, e0, e1, "bench_cpu_s")),
        "broker_rss_start_mb": mb(window_mean(run.samples, s0, s1, "broker_rss")),
        "broker_rss_end_mb": mb(window_mean(run.samples, e0, e1, "broker_rss")),
        "rss_start_mb": mb(verdict.rss_start),
        "rss_end_mb": mb(verdict.rss_end),
        "rss_growth_pct": verdict.rss_growth_pct,
        "api_rss_start_mb": mb(verdict.api_rss_start),
        "api_rss_end_mb": mb(verdict.api_rss_end),
        "api_rss_growth_pct": verdict.api_rss_growth_pct,
        "api_rss_ok": verdict.api_rss_ok,
        "rss_growth_limit_pct": MAX_RSS_GROWTH_PCT,
        "publish": args.publish,
        "refused": {str(k): v for k, v in sorted(run.refused.items())},
        "lag_ok": verdict.lag_ok,
        "rss_ok": verdict.rss_ok,
        "passed": verdict.passed,
        "verdict": verdict.line(),
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in load_end],
        "workers": args.workers,
        "samples": len(run.samples),
        "series": [
            [
                round(s["t"]),
                s["lag"],
                round(s["rss"] / 2**20, 1),
                round(s.get("api_rss", 0) / 2**20, 1),
            ]
            for s in run.samples
        ],
    }


def _request_figures(seconds: list[float]) -> dict[str, float | None]:
    """p50/p99 of the accepted POSTs (ms), over the run and over its last tenth of requests."""
    if not seconds:
        return {}
    last = seconds[-max(1, len(seconds) // 10) :]
    return {
        "request_p50_ms": _ms(seconds, 0.5),
        "request_p99_ms": _ms(seconds, 0.99),
        "request_p50_ms_end": _ms(last, 0.5),
        "request_p99_ms_end": _ms(last, 0.99),
    }


def _ms(seconds: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``seconds`` in ms (0.1 ms), None for none."""
    found = percentile(seconds, q)
    return None if found is None else round(found * 1000, 1)


def _pct(per_s: float | None) -> float | None:
    return None if per_s is None else round(per_s * 100, 1)


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


def _state_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "OPPBUS_CLOSED_RETENTION_S": str(args.closed_retention),
        "OPPBUS_CONFLICT_WINDOW_S": str(args.conflict_window),
        "OPPBUS_FETCH_WAIT_MS": str(args.fetch_wait_ms),
    }


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
            env = {**_worker_env(settings), **_state_env(args)}
            procs.append(spawn(argv, log=logs / f"worker{i + 1}.log", env=env))
        api_env = {**_worker_env(settings), **_state_env(args)}  # the same keys and windows
        api = start_api(settings.broker_url, api_env, logs, partitions=args.partitions)
        print(f"soak: {run_id}, logs in {logs}", file=sys.stderr, flush=True)
        try:
            api.wait_healthy()
            state = SoakRun(
                settings,
                run_id,
                close=args.close,
                broker_pid=broker.pid if broker else None,
                api_pid=api.pid,
            )
            if args.publish == "api":
                state.published_elsewhere.add(settings.topic("opportunities"))
            figures = asyncio.run(_soak(args, state, [p.pid for p in procs], api))
            figures["workers_alive_at_end"] = sum(1 for p in procs if p.poll() is None)
            figures["api_alive_at_end"] = api.proc.poll() is None
            return figures
        finally:
            for proc in [*procs, api.proc]:
                stop(proc, timeout=10.0)
    finally:
        if broker is not None:
            broker.stop()
