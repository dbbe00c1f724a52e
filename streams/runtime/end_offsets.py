"""Real end offsets: ListOffsets(latest), confirmed by the high watermark of one Fetch.

Why (measured on the embedded broker, Tansu 0.6.0, memory storage): once producers batch,
ListOffsets(latest) answers an end offset *below* the real end. Three producers sending 300
records each with a 5 ms linger: ListOffsets said 601 while offsets 0..899 were acknowledged and
consumable; later rounds 1515 vs 1821, 2450 vs 2763, 4383 vs 4710. The figures match "base offset
of the partition's last record batch + 1": a batch is counted as one record. The high watermark
carried in every Fetch response is right (900, 1821, 2763, ...). On Apache Kafka both agree.

What trusted ListOffsets broke: Faust's table recovery (``_build_highwaters`` ->
``consumer.highwaters()`` -> aiokafka ``end_offsets``) stopped reading a changelog before its last
batch (a new owner of a partition lost rows, re-routed and over-offered), and its consistency
check raised ``ConsistencyError`` (offset read > highwater) on a rebalance; consumer lag, read
models and "caught up" checks were short too.

``end_offsets(consumer, partitions)`` asks ListOffsets, then sends one Fetch request per leader
for all its partitions together, each at ``max(end - 1, 0)`` (a record that exists, so the broker
answers at once), and takes the largest of ListOffsets, the fetch's high watermark and the
offset after the last record it returned (the batch at the probe is the log's last one when
ListOffsets is short; reading the end from the records holds even if a high watermark lagged):
never lower than ListOffsets, so it is correct on Kafka too. Cost: one extra round trip per call, and at most one
record batch per partition (Kafka and Tansu return the first batch whole even when ``max_bytes``
is 1). Tansu quirks seen and handled: a Fetch with ``max_wait_ms=0`` comes back with no topics at
all, and a Fetch where every partition is empty waits the whole ``max_wait_ms`` whatever
``min_bytes`` is (hence a few milliseconds here). A partition missing from the answer or answered
with an error is asked again (bounded), then falls back to ListOffsets with a warning; an offset
out of range (a log emptied by retention) keeps its ListOffsets value at once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aiokafka.errors import CorruptRecordException, KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

__all__ = [
    "confirm_end_offsets",
    "end_offsets",
    "fetch_highwaters",
    "fetch_plan",
    "probe_offset",
    "reconcile",
    "records_end",
]

log = logging.getLogger(__name__)

TP = TypeVar("TP", bound=tuple[str, int])  # aiokafka TopicPartition or faust TP (namedtuples)

FETCH_WAIT_MS = 5  # > 0: Tansu answers a 0 ms fetch with no topics; only paid when all are empty
OFFSET_OUT_OF_RANGE = 1  # Kafka error code: the probe is below the log start (retention)
ROUNDS = 3  # fetch rounds for partitions the broker left out of its answer
RETRY_S = 0.05


def probe_offset(listed_end: int) -> int:
    """Where to fetch to confirm an end offset: the last record ListOffsets admits to."""
    return max(listed_end - 1, 0)


def fetch_plan(
    listed: Mapping[TP, int], leader_of: Callable[[TP], int | None]
) -> tuple[dict[int, list[tuple[str, list[tuple[int, int]]]]], list[TP]]:
    """Group the probes by leader node: ``{node: [(topic, [(partition, offset)])]}``.

    Partitions without a known leader are returned apart (they keep their ListOffsets value).
    """
    by_node: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    leaderless: list[TP] = []
    for tp, end in listed.items():
        node = leader_of(tp)
        if node is None or node < 0:
            leaderless.append(tp)
            continue
        topic, partition = tp[0], tp[1]
        by_node[node][topic].append((partition, probe_offset(end)))
    plan = {
        node: [(topic, sorted(parts)) for topic, parts in sorted(topics.items())]
        for node, topics in by_node.items()
    }
    return plan, leaderless


def fetch_highwaters(topics: Iterable[Sequence[Any]]) -> dict[tuple[str, int], int]:
    """``(topic, partition) -> end`` from a Fetch response's ``topics``: the larger of the
    partition's high watermark and the offset after the last record the answer carries.

    Every Fetch version lays a partition out as ``(partition, error_code, highwater, ...,
    records)``. The records count too: they are the log itself, so an end read from them holds
    even if the broker's high watermark lagged its last batch. Partitions with an error, or with
    neither a high watermark (``-1``) nor records, are left out.
    """
    out: dict[tuple[str, int], int] = {}
    for topic, partitions in topics:
        for partition, error_code, highwater, *rest in partitions:
            if error_code != 0:
                continue
            end = max(int(highwater) if highwater is not None else -1, records_end(rest[-1:]))
            if end >= 0:
                out[(str(topic), int(partition))] = end
    return out


def records_end(tail: Sequence[Any]) -> int:
    """The offset after the last record of a partition's fetched ``records`` (``tail`` is
    ``[records]`` or empty), ``-1`` when there are none or they cannot be read."""
    data = tail[0] if tail else None
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        return -1
    end = -1
    try:
        records = MemoryRecords(bytes(data))
        while (batch := records.next_batch()) is not None:
            end = max(end, int(batch.next_offset))
    except (CorruptRecordException, ValueError, struct.error):
        log.debug("end offsets: fetched records not readable", exc_info=True)
    return end


def reconcile(listed: Mapping[TP, int], highwaters: Mapping[tuple[str, int], int]) -> dict[TP, int]:
    """The end of each listed partition: the larger of ListOffsets and the fetch's end.

    Keys are the caller's own partition objects (Faust and aiokafka use different classes).
    """
    out: dict[TP, int] = {}
    for tp, end in listed.items():
        seen = highwaters.get((tp[0], tp[1]))
        out[tp] = end if seen is None else max(end, seen)
    return out


async def confirm_end_offsets(client: Any, listed: Mapping[TP, int]) -> dict[TP, int]:
    """Correct ListOffsets' answer ``listed`` with the high watermark of one Fetch per leader.

    ``client`` is an aiokafka ``AIOKafkaClient`` (a consumer's ``_client``). A partition the
    broker leaves out of its answer or answers with an error is asked again (``ROUNDS`` rounds at
    most), then keeps its listed value with a warning (an offset out of range, i.e. a log emptied
    by retention, keeps it at once); a failed request is retried the same way and re-raised
    after the last round.
    """
    todo: dict[TP, int] = dict(listed)
    seen: dict[tuple[str, int], int] = {}
    for attempt in range(ROUNDS):
        plan, leaderless = fetch_plan(todo, client.cluster.leader_for_partition)
        for tp in leaderless:
            log.warning("end offsets: no leader known for %s; ListOffsets kept", tp)
            todo.pop(tp)
        try:
            answers = await asyncio.gather(
                *(client.send(node, _request(topics)) for node, topics in plan.items())
            )
        except KafkaError:
            if attempt == ROUNDS - 1:
                raise
            await asyncio.sleep(RETRY_S)
            continue
        for response in answers:
            seen.update(fetch_highwaters(response.topics))
            for topic, partitions in response.topics:
                for partition, error_code, *_ in partitions:
                    if error_code == OFFSET_OUT_OF_RANGE:  # emptied by retention: ListOffsets
                        seen.setdefault((str(topic), int(partition)), -1)
                    elif error_code != 0:  # e.g. leadership moving: asked again
                        log.info(
                            "end offsets: %s[%d] answered error %d", topic, partition, error_code
                        )
        todo = {tp: end for tp, end in todo.items() if (tp[0], tp[1]) not in seen}
        if not todo:
            break
        await asyncio.sleep(RETRY_S)
    if todo:
        log.warning("end offsets: no usable fetch answer for %s; ListOffsets kept", sorted(todo))
    return reconcile(listed, {k: v for k, v in seen.items() if v >= 0})


async def end_offsets(consumer: Any, partitions: Iterable[TP]) -> dict[TP, int]:
    """The real end offset (last offset + 1) of each partition, on Tansu and on Kafka.

    ``consumer`` is a started aiokafka ``AIOKafkaConsumer``; the partitions need not be
    assigned to it. Same contract as its ``end_offsets`` (which this calls first).
    """
    wanted = list(partitions)
    if not wanted:
        return {}
    listed: dict[TP, int] = dict(await consumer.end_offsets(wanted))
    return await confirm_end_offsets(consumer._client, listed)


def _request(topics: list[tuple[str, list[tuple[int, int]]]]) -> FetchRequest:
    # max_bytes 1 per partition: the broker still returns one whole batch (KIP-74), no more.
    return FetchRequest(
        FETCH_WAIT_MS,
        0,  # min_bytes
        1,  # max_bytes of the response
        0,  # isolation level: read_uncommitted (the high watermark, not the stable offset)
        [(topic, [(p, offset, 1) for p, offset in parts]) for topic, parts in topics],
    )
