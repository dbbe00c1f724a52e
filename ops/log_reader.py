"""Read whole topics once, from the beginning to the end they had when reading started.

A plain aiokafka consumer without a group (nothing committed, nobody rebalanced, nothing
written): it assigns every partition of the topics asked for, seeks to the beginning and stops at
the end offsets measured at the start (``streams.runtime.end_offsets``, right on Tansu too). Used
by ``oppbus policy`` (the versions applied so far) and ``oppbus replay`` (the history).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.runtime import end_offsets

__all__ = ["Progress", "RecordSink", "read_topics"]

RecordSink = Callable[[ConsumerRecord[bytes, bytes]], None]
Progress = Callable[[int, int], None]  # (records read, records to read)


async def read_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    sink: RecordSink,
    *,
    progress: Progress | None = None,
    client_id: str = "oppbus-log-reader",
) -> int:
    """Feed every record of ``topics`` (missing topics are skipped) to ``sink``; the count read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    read = 0
    try:
        await consumer.start()
        existing = await consumer.topics()
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in existing
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not tps:
            return 0
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await end_offsets(consumer, tps)
        remaining = {tp: end for tp, end in ends.items() if end > starts.get(tp, 0)}
        total = sum(end - starts.get(tp, 0) for tp, end in remaining.items())
        if progress is not None:
            progress(0, total)
        if not remaining:
            return 0
        consumer.assign(list(remaining))
        await consumer.seek_to_beginning(*remaining)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                end = remaining.get(tp)
                if end is None:
                    continue
                for record in records:
                    if record.offset >= end:
                        break
                    sink(record)
                    read += 1
                if records and records[-1].offset + 1 >= end:
                    del remaining[tp]
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
            if progress is not None:
                progress(read, total)
        return read
    finally:
        await consumer.stop()
