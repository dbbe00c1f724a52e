"""A whole-topic view every worker keeps in memory: the equivalent of a Faust GlobalTable.

Each worker reads *every* partition of a compacted topic (no consumer group, so nothing is shared
or rebalanced), from the beginning, and folds each record into an in-memory structure through a
callback. ``ready`` is set once the view has caught up with the end offsets it saw at start, so a
router never routes against a half-loaded directory; afterwards it keeps following the topic.

Why not ``app.GlobalTable``: the partner directory must apply last-writer-wins by profile version
and decode CloudEvents headers, which a changelog (the last value per key, headers dropped) cannot
express; and reading the topic itself means no second copy of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.runtime.end_offsets import end_offsets

__all__ = ["GlobalView", "RecordSink"]

log = logging.getLogger(__name__)

# (key, value, headers, (topic, partition, offset)) -> None; value None is a tombstone.
RecordSink = Callable[
    [bytes | None, bytes | None, Sequence[tuple[str, bytes]], tuple[str, int, int]], None
]


class GlobalView:
    """Follow every partition of ``topic`` from the beginning and feed each record to ``sink``."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        sink: RecordSink,
        *,
        name: str,
        poll_ms: int = 100,
        topic_wait_s: float = 30.0,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_options = dict(client_options or {})  # SASL login (Settings)
        self.topic = topic
        self.sink = sink
        self.name = name
        self.poll_ms = poll_ms
        self.topic_wait_s = topic_wait_s
        self.ready = asyncio.Event()
        self.records = 0
        self._positions: dict[int, int] = {}

    async def wait_ready(self) -> None:
        await self.ready.wait()

    def position(self, partition: int) -> int:
        """The next offset this view will read on ``partition`` (0 before the first record)."""
        return self._positions.get(partition, 0)

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.topic_wait_s
        while True:
            await consumer.topics()  # refreshes the cluster metadata
            parts = consumer.partitions_for_topic(self.topic)
            if parts:
                return [TopicPartition(self.topic, p) for p in sorted(parts)]
            if loop.time() > deadline:
                raise RuntimeError(f"{self.name}: topic {self.topic} does not exist")
            await asyncio.sleep(0.2)

    async def run(self) -> None:
        """Consume until cancelled (run it as a Faust app task); the consumer is always closed."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.poll_ms,
            **self.client_options,
        )
        try:
            await consumer.start()
            tps = await self._partitions(consumer)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await end_offsets(consumer, tps)  # ListOffsets alone is short on Tansu
            pending = {tp.partition: end for tp, end in ends.items() if end > 0}
            if not pending:
                self._mark_ready()
            while True:
                batches = await consumer.getmany(timeout_ms=self.poll_ms, max_records=5000)
                for tp, messages in batches.items():
                    for m in messages:
                        self.sink(m.key, m.value, m.headers, (m.topic, m.partition, m.offset))
                        self._positions[tp.partition] = m.offset + 1
                    self.records += len(messages)
                if pending:
                    for partition, end in list(pending.items()):
                        if await consumer.position(TopicPartition(self.topic, partition)) >= end:
                            del pending[partition]
                    if not pending:
                        self._mark_ready()
        finally:
            await consumer.stop()

    def _mark_ready(self) -> None:
        if not self.ready.is_set():
            log.info("%s: caught up with %s (%d records)", self.name, self.topic, self.records)
            self.ready.set()
