"""Give back to the fetcher an input partition that Faust's back-pressure left out.

Faust 0.15.3 (pinned) throttles a stream whose queue is under pressure by taking the partition
that filled it out of the consumer's active set (``Conductor`` -> ``Consumer.on_buffer_full``:
``_active_partitions.discard(tp)``, ``_buffered_partitions.add(tp)``). It comes back only when
mode's queue runs the pending pressure-drop callback (``Consumer.on_buffer_drop``), which happens
on a read from the queue once it has drained. A partition whose callback never runs stays out for
good: nothing of it is fetched, delivered or committed, and nothing is logged.

Seen in the fault suite (kill -9 a worker three times during 5,000 opportunities, a few runs in
ten): after a restart one ``opportunities`` partition stopped at its committed offset for the rest
of the run, through two more restarts, while the other flowed and a plain consumer read the same
offsets at once. A restart is when the router's queue fills: it waits for the partner directory
while the backlog arrives. The root cause is not pinned down (``docs/upstream/faust-stranded-partition.md``); this watchdog
makes that state visible and recovers from it.

``stranded`` (pure) names the partitions that are assigned, not paused by Faust, not in the active
set, while every stream queue has drained to its pressure-drop size, at two checks in a row.
``StrandWatch.check`` puts them back the way ``on_buffer_drop`` does and logs a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Set
from typing import Any

from streams.runtime.worker_state import settled, stream_queues

__all__ = ["StrandWatch", "stranded"]

log = logging.getLogger(__name__)


def stranded(
    assigned: Iterable[Any],
    active: Set[Any],
    paused: Set[Any],
    *,
    is_input: Callable[[Any], bool],
    queues_drained: bool,
) -> set[Any]:
    """Input partitions left out of fetching although no stream queue is under pressure."""
    if not queues_drained:
        return set()
    return {tp for tp in assigned if is_input(tp) and tp not in active and tp not in paused}


class StrandWatch:
    """Checks a Faust app's consumer; a partition must be stranded at two checks in a row."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._seen: set[Any] = set()

    def _queues_drained(self) -> bool:
        return all(queue.qsize() <= queue.pressure_drop_size for queue in stream_queues(self.app))

    def _is_input(self, tp: Any) -> bool:  # a topic the app's streams read (not a changelog)
        return tp.topic in self.app.topics.acking_topics

    def check(self) -> set[Any]:
        """Put stranded partitions back into the consumer's active set; returns them."""
        app = self.app
        consumer = app.consumer
        if not settled(app):
            self._seen.clear()
            return set()
        active = consumer._active_partitions
        if active is None:
            return set()
        now = stranded(
            consumer.assignment(),
            active,
            consumer._paused_partitions,
            is_input=self._is_input,
            queues_drained=self._queues_drained(),
        )
        back = now & self._seen
        self._seen = now - back
        for tp in sorted(back):
            log.warning(
                "topic=%s partition=%d was left out of fetching after back-pressure "
                "(its streams have drained): fetching it again",
                tp.topic,
                tp.partition,
            )
            consumer._buffered_partitions.discard(tp)
            consumer._get_active_partitions().add(tp)
        return back
