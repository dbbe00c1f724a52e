"""How long the scorecards remember a closed referral, and which ones to forget now.

The fold keeps one :class:`~streams.scorecards.fold.RefState` per partner and referral (the
idempotence record: a duplicate fact does not move it). Once the referral is closed (declined,
expired, won, lost, withdrawn) nothing can move it any more, and the only facts still to come are
duplicates: the router re-publishes a closed referral's event only while it keeps the opportunity's
closed marker, ``closed_retention_s`` after it closed. The scorecards see the closing fact after the
router wrote it, so forgetting the referral ``closed_retention_s`` after *they* saw it close keeps
every such duplicate recognised; afterwards the entry (about 1 KB per referral with its key, both
roles counted) is deleted from the table and tombstoned on its changelog.

:class:`ClosedRefs` is a FIFO of ``(forget_at, partition, key)``: the retention is one constant,
so the queue is in time order and needs no heap. It is rebuilt from the table after a recovery
(the closing times are not stored: each closed entry gets a full retention from the recovery).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from streams.scorecards.fold import RefState

__all__ = ["CLOSED", "ClosedRefs", "fact_partition", "is_closed"]

CLOSED = frozenset({"declined", "expired", "won", "lost", "withdrawn"})

_partitioner = DefaultPartitioner()


def is_closed(ref: Any) -> bool:
    return isinstance(ref, RefState) and ref.status in CLOSED


def fact_partition(key: bytes, partitions: int) -> int:
    """The ``scorecard-facts`` partition (and so changelog partition) of a ``partner/referral``
    table key: facts are keyed by partner id, placed by the producer's default partitioner."""
    partner = key.split(b"/", 1)[0]
    every = list(range(partitions))
    return int(_partitioner(partner, every, every))


class ClosedRefs:
    def __init__(self, retention_s: float) -> None:
        self.retention_s = retention_s
        self._queue: deque[tuple[float, int, bytes]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def __iter__(self) -> Iterator[tuple[float, int, bytes]]:
        """The queued ``(forget_at, partition, key)`` entries, earliest first."""
        return iter(self._queue)

    def closed(self, key: bytes, partition: int, now: float) -> None:
        """The referral ``key`` (changelog partition ``partition``) closed at ``now``."""
        self._queue.append((now + self.retention_s, partition, key))

    def due(self, now: float) -> list[tuple[int, bytes]]:
        """``(partition, key)`` of the referrals to forget at ``now`` (check they are still closed:
        a key forgotten and seen again is queued again)."""
        out: list[tuple[int, bytes]] = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            _, partition, key = queue.popleft()
            out.append((partition, key))
        return out

    def rebuild(
        self, rows: Iterable[tuple[Any, Any]], now: float, partition_of: Callable[[bytes], int]
    ) -> int:
        """Start over from the stored entries (after a recovery); how many are closed."""
        self._queue.clear()
        for key, value in rows:
            if isinstance(key, bytes) and is_closed(value):
                self.closed(key, partition_of(key), now)
        return len(self._queue)
