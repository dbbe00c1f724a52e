"""Read again the input records a worker consumed but never processed, once it has gone idle.

Caught in the fault suite (kill -9 the worker three times during 5,000 opportunities, a few runs
in ten): after a restart, aiokafka's position on one ``opportunities`` partition was far past the
committed offset, the worker was idle, and nothing between them was ever processed, so
~700-2,000 opportunities were never offered and nothing was logged. The records had been handed
to the router's stream queue while the restarted worker was still seeking to its committed
offsets, and thrown away there by Faust's second flow resume (state dump: nothing delivered;
offset trace: delivered, never acknowledged). ``streams.runtime.flow_control`` removes that cause; this
watch is the net for any other way a worker drops what it consumed: the position only moves
forward, so such a state never mends itself.

``undelivered`` (pure) names the input partitions of gapless topics (no offset holes: see
``streams.runtime.commit_guard``) whose consumer position is past the committed offset while nothing of
them is pending - no message in flight (taken by a stream, not acknowledged), no acknowledged
offset waiting for the next commit, no rewind under way - and every stream queue has drained: the
records between were consumed and dropped. ``UndeliveredWatch.check`` seeks each back to its
committed offset at the second check in a row with the same figures and logs a warning;
processing is idempotent, so reading again is safe. Faust's committed offset of every gapless
partition is known: the one committed, else the base ``CommitGuard.perform_seek`` sets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

from aiokafka import TopicPartition

from streams.runtime.consumer_access import aiokafka_consumer
from streams.runtime.worker_state import settled, stream_queues

__all__ = ["UndeliveredWatch", "undelivered"]

log = logging.getLogger(__name__)

Figures = tuple[int, int]  # (position, committed offset)


def undelivered(
    assigned: Iterable[Any],
    positions: Mapping[Any, int | None],
    committed: Mapping[Any, int | None],
    pending: Set[Any],
    *,
    watched: Callable[[Any], bool],
    queues_drained: bool,
) -> dict[Any, Figures]:
    """Partitions consumed past their committed offset with nothing of them pending:
    ``tp -> (position, committed)``; ``pending`` holds the partitions with a message in flight,
    an acknowledged offset not committed yet or a rewind under way."""
    if not queues_drained:
        return {}
    out: dict[Any, Figures] = {}
    for tp in assigned:
        position, base = positions.get(tp), committed.get(tp)
        if not watched(tp) or tp in pending or position is None or base is None:
            continue
        if 0 <= base < position:
            out[tp] = (position, base)
    return out


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
        aiokafka = aiokafka_consumer(self.app)
        assignment = aiokafka._subscription.subscription.assignment
        out: dict[Any, int | None] = {}
        for tp in tps:
            state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
            valid = state is not None and state.has_valid_position
            out[tp] = state.position if valid else None
        return out

    def _pending(self, tps: list[Any]) -> set[Any]:
        """Faust 0.15.3 internals (pinned): ``_unacked_messages`` (a WeakSet of the messages
        streams took and did not acknowledge), ``_acked`` (acknowledged offsets not committed)."""
        consumer = self.app.consumer
        in_flight = {message.tp for message in list(consumer._unacked_messages)}
        rewinding = set(getattr(consumer, "_rewinding", ()))
        return {tp for tp in tps if consumer._acked.get(tp)} | in_flight | rewinding

    async def check(self) -> dict[Any, Figures]:
        """Seek back partitions consumed past records never processed; returns them."""
        app = self.app
        consumer = app.consumer
        if not settled(app) or not app.flow_control.is_active():  # streams skip while suspended
            self._seen = {}
            return {}
        tps = [tp for tp in consumer.assignment() if self._watched(tp)]
        now = undelivered(
            tps,
            self._positions(tps),
            {tp: consumer._committed_offset.get(tp) for tp in tps},
            self._pending(tps),
            watched=self._watched,
            queues_drained=self._queues_drained(),
        )
        again = {tp: figures for tp, figures in now.items() if self._seen.get(tp) == figures}
        self._seen = {tp: figures for tp, figures in now.items() if tp not in again}
        for tp, (position, committed) in sorted(again.items()):
            log.warning(
                "topic=%s partition=%d: the consumer is at offset %d but offsets %d..%d were never "
                "processed and nothing of them is pending: reading again from %d",
                tp.topic,
                tp.partition,
                position,
                committed,
                position - 1,
                committed,
            )
            await consumer.seek(tp, committed)
        return again
