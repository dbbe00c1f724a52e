"""Which offsets may be committed when records are settled out of order (per-partner queues).

A record is *seen* when consumed and *settled* when nothing more is to be done for it (delivered,
dead-lettered, or not for any subscriber). The committable offset of a partition is the lowest
unsettled one — or one past the highest seen — so a crash never skips an unsettled delivery.
"""

from __future__ import annotations

from aiokafka import TopicPartition

__all__ = ["OffsetTracker"]


class OffsetTracker:
    def __init__(self) -> None:
        self._pending: dict[TopicPartition, set[int]] = {}
        self._high: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def seen(self, tp: TopicPartition, offset: int) -> None:
        self._pending.setdefault(tp, set()).add(offset)
        self._high[tp] = max(self._high.get(tp, -1), offset)

    def settle(self, tp: TopicPartition, offset: int) -> None:
        pending = self._pending.get(tp)
        if pending is not None:
            pending.discard(offset)

    def forget(self, tps: set[TopicPartition]) -> None:
        """Partitions revoked in a rebalance: their records are someone else's now."""
        for tp in tps:
            self._pending.pop(tp, None)
            self._high.pop(tp, None)
            self._committed.pop(tp, None)

    def to_commit(self) -> dict[TopicPartition, int]:
        """Offsets that moved since the last call to :meth:`committed`."""
        out: dict[TopicPartition, int] = {}
        for tp, high in self._high.items():
            pending = self._pending.get(tp)
            position = min(pending) if pending else high + 1
            if position > self._committed.get(tp, -1):
                out[tp] = position
        return out

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def committed_offsets(self) -> dict[TopicPartition, int]:
        return dict(self._committed)

    def pending(self) -> int:
        return sum(len(p) for p in self._pending.values())
