"""Read again the input records a worker's consumer moved past without delivering them.

Caught with a state dump in the fault suite (kill -9 the worker three times during 5,000
opportunities, a few runs in ten): after the last restart, Faust's seek to the committed offsets
found no committed offset for ``opportunities`` partition 0 (the broker had one), nothing of that
partition was ever delivered to the router (Faust's read offset stayed unset), yet aiokafka's
position had reached the partition's end. About 2,000 opportunities were never offered and
nothing was logged. How the position got there is not pinned down (see the team note); what is
certain is the state, and that it never mends itself: the position only moves forward.

``undelivered`` (pure) names the input partitions of gapless topics (no offset holes: see
``streams.commit_guard``) whose consumer position is past the last delivered offset (or, with
none delivered, past the group's committed offset: the broker's, else the base Faust's consumer
holds, the log start when the group never committed - ``CommitGuard.perform_seek``) while every stream queue has drained, at two
checks in a row with the same figures. ``UndeliveredWatch.check`` seeks each back to the first
record not delivered and logs a warning; processing is idempotent, so reading again is safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from streams.agent_queues import stream_queues

__all__ = ["UndeliveredWatch", "undelivered"]

log = logging.getLogger(__name__)

COMMITTED_TIMEOUT_S = 10.0  # the check runs on the watchdogs' timer: never wait on it for long
Figures = tuple[int, int]  # (position, first offset not delivered)


def undelivered(
    assigned: Iterable[Any],
    positions: Mapping[Any, int | None],
    read: Mapping[Any, int | None],
    committed: Mapping[Any, int | None],
    *,
    watched: Callable[[Any], bool],
    queues_drained: bool,
) -> dict[Any, Figures]:
    """Partitions whose position is past records never delivered: ``tp -> (position, first)``.

    ``read`` is Faust's read offset per partition: the last offset delivered, except right after
    a seek, where it is the offset sought (the next to read; None before any); ``committed`` the
    group's committed offset (None when unknown). A read offset equal to the committed one is
    taken as the next to read: at worst one delivered record is read again (idempotent), never
    one skipped.
    """
    if not queues_drained:
        return {}
    out: dict[Any, Figures] = {}
    for tp in assigned:
        position = positions.get(tp)
        if not watched(tp) or position is None:
            continue
        last, base = read.get(tp), committed.get(tp)
        first = base if last is None else first_undelivered(last, base)
        if first is not None and 0 <= first < position:
            out[tp] = (position, first)
    return out


def first_undelivered(last: int, committed: int | None) -> int:
    """The first offset not delivered after Faust's read offset ``last`` (see ``undelivered``)."""
    return last if last == committed else last + 1


def _first_known(*offsets: int | None) -> int | None:
    return next((offset for offset in offsets if offset is not None), None)


class UndeliveredWatch:
    """Checks a Faust worker's input partitions; seeks back at the second identical sighting."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._seen: dict[Any, Figures] = {}

    def _watched(self, tp: Any) -> bool:
        gapless: frozenset[str] = getattr(self.app, "gapless_topics", frozenset())
        return tp.topic in self.app.topics.acking_topics and tp.topic in gapless

    def _queues_drained(self) -> bool:
        return all(queue.qsize() == 0 for queue in stream_queues(self.app))

    def _positions(self, tps: list[Any]) -> dict[Any, int | None]:
        aiokafka = self.app.consumer._thread._ensure_consumer()
        assignment = aiokafka._subscription.subscription.assignment
        out: dict[Any, int | None] = {}
        for tp in tps:
            state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
            valid = state is not None and state.has_valid_position
            out[tp] = state.position if valid else None
        return out

    async def _committed(self, tps: list[Any]) -> dict[Any, int | None]:
        """The group's committed offsets, asked of the broker by the worker's own consumer."""
        if not tps:
            return {}
        try:
            async with asyncio.timeout(COMMITTED_TIMEOUT_S):
                committed: dict[Any, int | None] = await self.app.consumer.committed_offsets(tps)
        except (KafkaError, TimeoutError) as exc:
            log.debug("group %s: committed offsets unavailable: %r", self.app.conf.id, exc)
            return {}
        return committed

    async def check(self) -> dict[Any, Figures]:
        """Seek back partitions moved past undelivered records; returns them."""
        app = self.app
        consumer = app.consumer
        if app.client_only or app.rebalancing or app.in_recovery or not consumer.flow_active:
            self._seen = {}
            return {}
        tps = [tp for tp in consumer.assignment() if self._watched(tp)]
        positions = self._positions(tps)
        read: dict[Any, int | None] = {tp: consumer._read_offset.get(tp) for tp in tps}
        drained = self._queues_drained()
        known = consumer._committed_offset  # Faust's, from its seek: a quick first filter

        def suspect(tp: Any) -> bool:
            position, last = positions[tp] or 0, read[tp]
            if last is None:
                return position > 0 and known.get(tp) != position
            return position > first_undelivered(last, known.get(tp))

        suspects = [tp for tp in tps if suspect(tp)]
        if not drained or not suspects:
            self._seen = {}
            return {}
        broker = await self._committed([tp for tp in suspects if read[tp] is None])
        committed = {tp: _first_known(broker.get(tp), known.get(tp)) for tp in suspects}
        now = undelivered(
            suspects, positions, read, committed, watched=self._watched, queues_drained=drained
        )
        again = {tp: figures for tp, figures in now.items() if self._seen.get(tp) == figures}
        self._seen = {tp: figures for tp, figures in now.items() if tp not in again}
        for tp, (position, first) in sorted(again.items()):
            log.warning(
                "topic=%s partition=%d: the consumer is at offset %d but offsets %d..%d were never "
                "delivered to its stream: reading again from %d",
                tp.topic,
                tp.partition,
                position,
                first,
                position - 1,
                first,
            )
            await consumer.seek(tp, first)
        return again
