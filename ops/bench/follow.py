"""``oppbus bench follow``: how fast the one topic follower catches up with a topic.

Every view that reads a topic from its start (the worker's directory, the API's read model, the
funnel feed, ``oppbus replay``) waits for ``streams.runtime.TopicFollower`` to catch up before it
is ready, so its catch-up rate bounds how soon a restarted process serves. On a fresh embedded
broker, ``--records`` records of ``--value-bytes`` are written to a topic of ``--partitions``
partitions; then, ``--rounds`` times: a follower is started and timed until ``caught_up``
(``follow``), the same records are read once with ``read_to_end`` (``read_to_end``), and a bare
aiokafka consumer assigned every partition reads to the same end offsets (the baseline). The sink
only counts: the figures are the follower's own cost, not a view's decoding.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.broker import EmbeddedBroker
from streams.runtime import TopicFollower, end_offsets

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Catch-up rate of the topic follower (streams.runtime.TopicFollower) on a topic of N records: "
    "follow until caught up, read_to_end, next to a bare aiokafka consumer."
)

TOPIC = "bench.follow"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=200_000, help="records written (200000)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the topic (4)")
    parser.add_argument("--value-bytes", type=int, default=200, help="bytes per value (200)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each reader (3)")


class _Count:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *record: object) -> None:
        self.n += 1


async def _write(bootstrap: str, records: int, partitions: int, size: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, partitions, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        value, sent = b"x" * size, []
        for i in range(records):
            sent.append(await producer.send(TOPIC, value, key=b"k%d" % i))
            if len(sent) >= 5000:
                await asyncio.gather(*sent)
                sent = []
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _follow(bootstrap: str) -> tuple[float, int]:
    count = _Count()
    follower = TopicFollower(bootstrap, [TOPIC], count, name="bench-follow")
    started = time.perf_counter()
    await follower.start()
    try:
        await follower.wait_caught_up()
        return time.perf_counter() - started, count.n
    finally:
        await follower.stop()


async def _read_to_end(bootstrap: str) -> tuple[float, int]:
    count = _Count()
    started = time.perf_counter()
    await TopicFollower(bootstrap, [TOPIC], count, name="bench-once").read_to_end()
    return time.perf_counter() - started, count.n


async def _bare(bootstrap: str) -> tuple[float, int]:
    """A plain aiokafka consumer: assign, seek to the beginning, getmany to the end offsets."""
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    read = 0
    try:
        tps = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        left = {tp: end for tp, end in (await end_offsets(consumer, tps)).items() if end > 0}
        while left:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                read += len(records)
                if records and records[-1].offset + 1 >= left.get(tp, 0):
                    left.pop(tp, None)
        return time.perf_counter() - started, read
    finally:
        await consumer.stop()


async def _measure(args: argparse.Namespace, bootstrap: str) -> dict[str, Any]:
    print(f"writing {args.records} records to {args.partitions} partitions", file=sys.stderr)
    await _write(bootstrap, args.records, args.partitions, args.value_bytes)
    rates: dict[str, list[float]] = {"follow": [], "read_to_end": [], "bare_aiokafka": []}
    readers = {"follow": _follow, "read_to_end": _read_to_end, "bare_aiokafka": _bare}
    for round_no in range(args.rounds):
        for name, reader in readers.items():
            seconds, read = await reader(bootstrap)
            if read != args.records:
                raise RuntimeError(f"{name} read {read} of {args.records} records")
            rates[name].append(args.records / seconds)
            print(
                f"round {round_no + 1}: {name} {args.records / seconds:,.0f} records/s",
                file=sys.stderr,
            )
    return {
        "records": args.records,
        "partitions": args.partitions,
        "value_bytes": args.value_bytes,
        "rounds": args.rounds,
        **{
            f"{name}_records_per_s": round(statistics.median(values))
            for name, values in rates.items()
        },
        "per_round_records_per_s": {
            name: [round(v) for v in values] for name, values in rates.items()
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with EmbeddedBroker() as broker:
        return asyncio.run(_measure(args, broker.bootstrap))
