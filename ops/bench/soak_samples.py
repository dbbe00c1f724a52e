"""What ``oppbus bench soak`` keeps while it runs, and what it samples every few seconds.

``SoakRun`` is the run's shared state (publisher, follower and sampler write it). ``sample_loop``
reads, every ``every`` seconds: the opportunities acknowledged so far, the router group's lag on
``opportunities`` and ``responses`` (against the offsets the broker acknowledged to the bench),
the resident memory of the workers and the API, the CPU seconds of the workers, the API and the
bench itself, and the embedded broker's CPU seconds and memory when the bench started it; a status
line every 30 s (the CPU figures as shares of a core over the last 30 s: where the machine's
cores go as the run ages).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ops.bench.probes import committed_lag, cpu_seconds, rss_bytes
from ops.bench.soak_figures import rate_in_window
from streams.runtime import end_offsets
from streams.settings import Settings

__all__ = ["PROGRESS_EVERY_S", "SoakRun", "sample_loop"]


@dataclass
class SoakRun:
    settings: Settings
    run_id: str
    published_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    offered: set[str] = field(default_factory=set)
    acked: int = 0
    close: str = "win"
    answered: int = 0  # responses (or withdrawals) published
    ends: dict[TopicPartition, int] = field(default_factory=dict)  # acknowledged offset + 1
    target: int | None = None  # set when publishing ends: how many offers complete the run
    complete: asyncio.Event = field(default_factory=asyncio.Event)
    samples: list[dict[str, float]] = field(default_factory=list)
    broker_pid: int | None = None  # the embedded broker, sampled for CPU and memory
    api_pid: int | None = None  # the API process, sampled for memory
    published_elsewhere: set[str] = field(default_factory=set)  # topics the API writes for us
    refused: dict[int, int] = field(default_factory=dict)  # HTTP status -> count (0: no answer)
    request_times: list[float] = field(default_factory=list)  # seconds per accepted POST, in order


async def _group_lag(
    admin: AIOKafkaAdminClient, run: SoakRun, topic: str, reader: AIOKafkaConsumer
) -> int:
    """Acknowledged records of ``topic`` the router group has not committed yet.

    The end of each partition is the real one: this bench's own acknowledged offsets, or, for
    what the API published, the end confirmed by a Fetch (``streams.runtime.end_offsets``;
    Tansu's ListOffsets alone is short). A partition the group never committed counts from 0, so
    a group that has not joined yet shows its whole backlog rather than none."""
    ends = {tp: end for tp, end in run.ends.items() if tp.topic == topic}
    if not ends and topic in run.published_elsewhere:
        parts = reader.partitions_for_topic(topic) or set()
        ends = await end_offsets(reader, [TopicPartition(topic, p) for p in sorted(parts)])
    if not ends:
        return 0
    return await committed_lag(admin, run.settings.app_id, ends)


PROGRESS_EVERY_S = 30.0  # a status line on stderr: a 10-minute run is not silent


def _progress(sample: dict[str, float], run: SoakRun, since: float) -> str:
    line = (
        f"soak: {sample['t']:.0f} s, published {run.acked:,}, offered {sample['offered']:,.0f}, "
        f"answers {run.answered:,}, lag {sample['lag']:,.0f} (responses "
        f"{sample['lag_responses']:,.0f}), worker RSS {sample['rss'] / 2**20:.1f} MB"
    )
    if "api_rss" in sample:
        line += f", API RSS {sample['api_rss'] / 2**20:.1f} MB"
    cpu = rate_in_window(run.samples, since, sample["t"], "broker_cpu_s")
    if cpu is not None and "broker_rss" in sample:
        line += f", broker {cpu * 100:.0f} % CPU, {sample['broker_rss'] / 2**20:,.0f} MB"
    shares = [
        f"{name} {share * 100:.0f} %"
        for name, key in (
            ("workers", "worker_cpu_s"),
            ("API", "api_cpu_s"),
            ("bench", "bench_cpu_s"),
        )
        if (share := rate_in_window(run.samples, since, sample["t"], key)) is not None
    ]
    if shares:
        line += f"; CPU {', '.join(shares)}"
    return line


def _cpu(pids: list[int]) -> float | None:
    """CPU seconds of ``pids`` together; None when any of them cannot be read."""
    figures = [cpu_seconds(pid) for pid in pids]
    return None if not figures or None in figures else sum(f for f in figures if f is not None)


async def sample_loop(
    run: SoakRun, pids: list[int], every: float, stop_event: asyncio.Event
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=run.settings.bootstrap_servers)
    reader = AIOKafkaConsumer(bootstrap_servers=run.settings.bootstrap_servers)  # end offsets
    started = time.monotonic()
    said = started
    try:
        await admin.start()
        await reader.start()
        await reader.topics()
        while not stop_event.is_set():
            lag = await _group_lag(admin, run, run.settings.topic("opportunities"), reader)
            answers = await _group_lag(admin, run, run.settings.topic("responses"), reader)
            rss = sum(rss_bytes(pid) or 0 for pid in pids)
            sample = {
                "t": time.monotonic() - started,
                "published": run.acked,
                "lag": lag,
                "lag_responses": answers,
                "rss": rss,
                "offered": len(run.offered),
            }
            if run.api_pid is not None and (api_rss := rss_bytes(run.api_pid)) is not None:
                sample["api_rss"] = api_rss
            for key, who in (
                ("worker_cpu_s", pids),
                ("api_cpu_s", [run.api_pid] if run.api_pid is not None else []),
                ("bench_cpu_s", [os.getpid()]),
            ):
                if (used := _cpu(who)) is not None:
                    sample[key] = used
            if run.broker_pid is not None:  # a broker that is gone leaves no figure, not a 0
                cpu, broker_rss = cpu_seconds(run.broker_pid), rss_bytes(run.broker_pid)
                if cpu is not None and broker_rss is not None:
                    sample["broker_cpu_s"], sample["broker_rss"] = cpu, broker_rss
            run.samples.append(sample)
            if time.monotonic() - said >= PROGRESS_EVERY_S:
                line = _progress(sample, run, since=said - started)
                said = time.monotonic()
                print(line, file=sys.stderr, flush=True)
            try:
                await asyncio.wait_for(stop_event.wait(), every)
            except TimeoutError:
                pass
    finally:
        await reader.stop()
        await admin.close()
