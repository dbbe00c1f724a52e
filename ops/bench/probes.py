"""Measurements shared by the load benchmarks: consumer lag, process memory, percentiles.

Small synchronous or async helpers with no state: the soak benchmark samples them on a timer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.runtime import end_offsets, refresh_metadata

__all__ = ["committed_lag", "cpu_seconds", "group_lag", "percentile", "rss_bytes", "topic_end"]


def rss_bytes(pid: int) -> int | None:
    """Resident set size of a process (Linux ``/proc/PID/status``), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used (Linux ``/proc/PID/stat``), None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def topic_end(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    """End offset of every partition of ``topic`` (an empty dict when it does not exist yet)."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        await refresh_metadata(consumer)
        parts = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    return await end_offsets(consumer, tps)  # ListOffsets confirmed: streams.runtime.end_offsets


async def group_lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, topic: str
) -> int:
    """Records of ``topic`` not yet committed by consumer group ``group`` (sum over partitions).

    A partition the group never committed counts from its start (offset 0), so a group that has
    not joined yet shows the whole backlog as lag rather than none.
    """
    return await committed_lag(admin, group, await topic_end(consumer, topic))


async def committed_lag(
    admin: AIOKafkaAdminClient, group: str, ends: Mapping[TopicPartition, int]
) -> int:
    """Records below ``ends`` (per partition) not yet committed by ``group``; a partition the
    group never committed counts from offset 0."""
    committed = await admin.list_consumer_group_offsets(group, partitions=list(ends))
    lag = 0
    for tp, end in ends.items():
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        lag += max(0, end - done)
    return lag
