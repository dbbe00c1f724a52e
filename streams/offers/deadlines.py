"""Which opportunities have an offer past its response deadline, without scanning every row.

``DeadlineIndex`` keeps the earliest open deadline of each opportunity row in a heap. The router
updates it whenever it writes a row; it is rebuilt from the table after every table recovery
(worker start, rebalance), so deadlines survive restarts. The timer pops what is due and sends a
tick; a popped key is re-armed ``retry_s`` later, so a tick that was lost or landed on a worker that
no longer owns the row is sent again until the row stops being due.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from streams.offers.store import due_of

__all__ = ["DeadlineIndex"]


class DeadlineIndex:
    def __init__(self, retry_s: float = 5.0) -> None:
        self.retry_s = retry_s
        self._due: dict[bytes, float] = {}
        self._heap: list[tuple[float, bytes]] = []

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        """Whether the row ``key`` has an open deadline in the index."""
        return key in self._due

    def set(self, key: bytes, due: float | None) -> None:
        """The row ``key`` now has its earliest open deadline at ``due`` (None: nothing open)."""
        if due is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == due:
            return
        self._due[key] = due
        heapq.heappush(self._heap, (due, key))

    def advance(self, key: bytes, due: float) -> None:
        """Make ``key`` due at ``due``, unless it is due earlier already."""
        current = self._due.get(key)
        if current is None or due < current:
            self.set(key, due)

    def set_row(self, key: bytes, value: bytes) -> None:
        self.set(key, due_of(value))

    def rebuild(self, rows: Iterable[tuple[Any, Any]]) -> int:
        """Start over from the stored rows (after a recovery)."""
        self._due.clear()
        self._heap.clear()
        for key, value in rows:
            if isinstance(key, bytes) and isinstance(value, bytes | bytearray):
                self.set(key, due_of(bytes(value)))
        return len(self._due)

    def pop_due(self, now: float) -> list[bytes]:
        """Keys whose deadline has passed at ``now``; each is re-armed ``retry_s`` later."""
        out: list[bytes] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, key = heapq.heappop(heap)
            if self._due.get(key) != due:
                continue  # superseded by a later write
            out.append(key)
        for key in out:
            self.set(key, now + self.retry_s)
        if len(heap) > 4 * len(self._due) + 1024:  # drop superseded entries now and then
            self._heap = [(d, k) for k, d in self._due.items()]
            heapq.heapify(self._heap)
        return out
