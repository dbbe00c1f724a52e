"""Every byte on the bus: keys, values and headers of every record of every catalogue topic."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import TOPICS
from streams.runtime import refresh_metadata
from streams.settings import Settings

__all__ = ["every_record"]


async def every_record(settings: Settings, *, internal: bool = False) -> bytes:
    """Read every record from the beginning; ``internal``: also Faust's own topics (changelogs)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    blob = bytearray()
    try:
        await refresh_metadata(consumer)
        names = [settings.topic(spec.name) for spec in TOPICS]
        if internal:  # <app_id>-<table>-changelog and the like
            names += [t for t in await consumer.topics() if t.startswith(settings.app_id + "-")]
        tps = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            for msgs in batch.values():
                for m in msgs:
                    blob += (m.key or b"") + (m.value or b"")
                    blob += b"".join(v or b"" for _, v in m.headers or ())
    finally:
        await consumer.stop()
    return bytes(blob)
