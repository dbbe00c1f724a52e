"""The one way to follow topics from their start: every partition, no consumer group.

A :class:`TopicFollower` is a :class:`~streams.runtime.shared_follower.SharedFollower` with one
registration (its topics into its sink), with that registration's ``caught_up``, ``records``,
``position``, ``wait_until`` as its own: the API's read model, webhook views, worker reports and
funnel feed, each with its own consumer. A worker's whole-topic views (partner directory, claims,
stats, policy, partnerships, fees) share one ``SharedFollower`` instead. Through
:meth:`TopicFollower.read_to_end` it also serves the offline readers (replay, policy, fees
verify), which stop at the end offsets they measured at the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from streams.runtime.end_offsets import end_offsets
from streams.runtime.shared_follower import (
    FollowedTopics,
    FollowerOptions,
    Origin,
    Record,
    RecordSink,
    SharedFollower,
    WholeRecordSink,
    start_whole,
)

if TYPE_CHECKING:  # pydantic's dependency; only for the type checker (Python 3.11)
    from typing_extensions import Unpack

__all__ = [
    "Origin",
    "Progress",
    "Record",
    "RecordSink",
    "TopicFollower",
    "WholeRecordSink",
    "start_whole",
]

Progress = Callable[[int, int], None]  # (records read, records to read at the start)


class TopicFollower(SharedFollower):
    """Follow every partition of ``topics`` (full names) from the beginning into ``sink``.

    ``sink`` gets ``(key, value, headers, origin)``; ``on_record`` instead gets the whole record.
    The other options are :class:`~streams.runtime.shared_follower.SharedFollower`'s.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        sink: RecordSink | None = None,
        *,
        name: str,
        on_record: WholeRecordSink | None = None,
        **options: Unpack[FollowerOptions],
    ) -> None:
        super().__init__(bootstrap_servers, name=name, **options)
        self.registration: FollowedTopics = self.follow(
            topics, sink, name=name, on_record=on_record
        )

    # --- what it has read: its one registration's ---------------------------------------------

    @property
    def sink(self) -> RecordSink | None:
        return self.registration.sink

    @property
    def on_record(self) -> WholeRecordSink | None:
        return self.registration.on_record

    @property
    def caught_up(self) -> asyncio.Event:
        return self.registration.caught_up

    @property
    def records(self) -> int:
        return self.registration.records

    def position(self, topic: str, partition: int) -> int:
        """The next offset to be applied on ``topic[partition]`` (0 before the first record)."""
        return self.registration.position(topic, partition)

    async def wait_caught_up(self) -> None:
        await self.registration.wait_caught_up()

    async def wait_until(self, predicate: Callable[[], bool], *, timeout_s: float | None) -> bool:
        """Wait until ``predicate()`` holds after an applied batch; False on timeout."""
        return await self.registration.wait_until(predicate, timeout_s=timeout_s)

    # --- offline -------------------------------------------------------------------------------

    async def read_to_end(self, progress: Progress | None = None) -> int:
        """Read every record up to the end offsets measured at the start, then close; the count.

        Records written meanwhile are not read (a snapshot as of the start)."""
        consumer = await self._open()
        read = 0
        try:
            if not self.partitions:  # every topic missing: nothing to read
                if progress is not None:
                    progress(0, 0)
                return 0
            starts = await consumer.beginning_offsets(self.partitions)
            ends = await end_offsets(consumer, self.partitions)
            remaining = {tp: end for tp, end in ends.items() if end > starts.get(tp, 0)}
            total = sum(end - starts.get(tp, 0) for tp, end in remaining.items())
            if progress is not None:
                progress(0, total)
            while remaining:
                batches = await self._fetch(consumer, list(remaining))
                for tp, messages in batches.items():
                    end = remaining.get(tp)
                    if end is None:
                        continue
                    upto = _before(messages, end)
                    self.registration.feed(tp, upto)
                    read += len(upto)
                for tp in list(remaining):
                    if self.position(tp.topic, tp.partition) >= remaining[tp] or (
                        await consumer.position(tp) >= remaining[tp]
                    ):
                        del remaining[tp]
                if progress is not None:
                    progress(read, total)
            return read
        finally:
            await self._close()


def _before(messages: Sequence[Any], end: int) -> Sequence[Any]:
    """The messages (in offset order) below ``end``."""
    if not messages or messages[-1].offset < end:
        return messages
    return [m for m in messages if m.offset < end]
