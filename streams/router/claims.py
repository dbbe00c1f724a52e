"""Conflict-detection state: the registrations of each customer (normalised domain) and need.

Opportunities are keyed by their own id, so two opportunities for the same customer usually land on
different partitions and workers. The registrations therefore live on a compacted topic (key
``domain|need``, value the JSON list of ``[registered_at, opportunity_key]`` pairs) that every
worker reads whole (a ``GlobalView``), and the routing core's pure ``register`` step decides. A
worker applies its own registrations at once, so its next opportunity sees them without waiting
for the round trip. Two workers registering the same customer within the same few milliseconds
can both miss each other: that window is accepted (the embedded broker has no transactions).

Memory: one entry per ``domain|need`` registered within the window. Registrations older than the
window are pruned every tenth of a window (so an entry lives at most 1.1 windows) and are not
loaded from the topic at all; a key whose registrations all expired is dropped. An opportunity
withdrawn within ``release_s`` of its publication gives its registrations up (:meth:`release`):
publishing and withdrawing at once is how a partner would probe, and the probe's claim must not
stay to flag the customer's real owner later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from schemas.opportunity import Opportunity
from streams.routing.conflicts import Registration, conflict_keys, register, unregister

__all__ = ["ClaimRegistry", "Found", "live_entries"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """The needs of an opportunity already registered for its customer, and since when."""

    domain: str
    needs: tuple[str, ...]
    first_at: float


def live_entries(
    entries: Sequence[Registration], now: float, window_s: float
) -> tuple[Registration, ...]:
    """The registrations still inside the window at ``now`` (what ``register`` keeps too)."""
    return tuple(e for e in entries if now - e[0] < window_s)


class ClaimRegistry:
    """``domain|need`` -> registrations within the conflict window."""

    def __init__(
        self, window_s: float, clock: Callable[[], float] = time.time, *, release_s: float = 0.0
    ) -> None:
        self.window_s = window_s
        self.release_s = release_s
        self.clock = clock
        self.prune_every_s = window_s / 10
        self._entries: dict[str, tuple[Registration, ...]] = {}
        self._pruned_at = clock()

    def __len__(self) -> int:
        return len(self._entries)

    def prune(self, now: float) -> int:
        """Drop the registrations older than the window; how many keys were dropped."""
        self._pruned_at = now
        dropped = 0
        for ckey, entries in list(self._entries.items()):
            live = live_entries(entries, now, self.window_s)
            if not live:
                del self._entries[ckey]
                dropped += 1
            elif live != entries:
                self._entries[ckey] = live
        return dropped

    def register(
        self, opp: Opportunity, key: str, now: float
    ) -> tuple[Found | None, list[tuple[bytes, bytes]]]:
        """Register ``opp`` at ``now``: its conflict (if any) and the claim records to publish."""
        if self.window_s <= 0:
            return None, []
        wall = self.clock()  # pruning follows this worker's clock, not the publisher's
        if wall - self._pruned_at >= self.prune_every_s:
            self.prune(wall)
        overlap: list[str] = []
        first = now
        domain = ""
        records: list[tuple[bytes, bytes]] = []
        for ckey, need in zip(conflict_keys(opp), dict.fromkeys(opp.needs), strict=True):
            current = self._entries.get(ckey, ())
            earlier, stored = register(current, key, now, window_s=self.window_s)
            if stored != current:
                self._entries[ckey] = stored
                records.append((ckey.encode(), orjson.dumps([list(e) for e in stored])))
            if earlier is not None:
                domain = ckey.split("|", 1)[0]
                overlap.append(need)
                first = min(first, earlier)
        found = Found(domain, tuple(overlap), first) if overlap else None
        return found, records

    def release(
        self, key: str, withdrawn_at: float, opp: Opportunity | None = None
    ) -> list[tuple[bytes, bytes]]:
        """An opportunity withdrawn within ``release_s`` of registering leaves no claim (a probe
        must not keep the customer registered); the claim records to publish. Without ``opp``
        (a closed opportunity keeps only a marker) every conflict key is looked at."""
        if self.release_s <= 0:
            return []
        ckeys = conflict_keys(opp) if opp is not None else tuple(self._entries)
        records: list[tuple[bytes, bytes]] = []
        for ckey in ckeys:
            current = self._entries.get(ckey, ())
            recent = [ts for ts, k in current if k == key and withdrawn_at - ts <= self.release_s]
            if not recent:
                continue
            kept = unregister(current, key)
            if kept:
                self._entries[ckey] = kept
            else:
                self._entries.pop(ckey, None)
            records.append((ckey.encode(), orjson.dumps([list(e) for e in kept])))
        return records

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        """The ``GlobalView`` sink of the claims topic (the latest list per key wins)."""
        del headers
        if key is None:
            return
        try:
            ckey = key.decode()
            if value is None:
                self._entries.pop(ckey, None)
                return
            entries = tuple((float(ts), str(k)) for ts, k in orjson.loads(value))
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            log.warning("bad claim record topic=%s partition=%d offset=%d: %r", *origin, exc)
            return
        live = live_entries(entries, self.clock(), self.window_s)
        if live:
            self._entries[ckey] = live
        else:
            self._entries.pop(ckey, None)
