"""Conflict-detection state: the registrations of each customer (normalised domain) and need.

Opportunities are keyed by their own id, so two opportunities for the same customer usually land on
different partitions and workers. The registrations therefore live on a compacted topic (key
``domain|need``, the domain as its keyed hash ``schemas.field_crypto.blind_index``; value the JSON
list of ``[registered_at, opportunity_key]`` pairs) that every worker reads whole (a
``TopicFollower``), and the routing core's pure ``register`` step decides. A worker applies its own
registrations at once, so its next opportunity sees them without waiting for the round trip. Two workers registering the same customer within the same few milliseconds
can both miss each other: that window is accepted (the embedded broker has no transactions).

Memory: one entry per ``domain|need`` registered within the window. Registrations older than the
window are pruned every tenth of a window (so an entry lives at most 1.1 windows) and are not
loaded from the topic at all; a key whose registrations all expired is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from schemas.opportunity import Opportunity
from streams.routing.conflicts import Registration, conflict_keys, register

__all__ = ["ClaimRegistry", "Found", "live_entries"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """The needs of an opportunity already registered for its customer, and since when.

    ``first_key`` is the opportunity holding the claim: the router tells its originator too, and
    never puts it in what the later originator is told.
    """

    domain: str
    needs: tuple[str, ...]
    first_at: float
    first_key: str = ""


def live_entries(
    entries: Sequence[Registration], now: float, window_s: float
) -> tuple[Registration, ...]:
    """The registrations still inside the window at ``now`` (what ``register`` keeps too)."""
    return tuple(e for e in entries if now - e[0] < window_s)


class ClaimRegistry:
    """``domain|need`` -> registrations within the conflict window."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.time) -> None:
        self.window_s = window_s
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
        first_key = ""
        domain = ""
        records: list[tuple[bytes, bytes]] = []
        for ckey, need in zip(conflict_keys(opp), dict.fromkeys(opp.needs), strict=True):
            current = self._entries.get(ckey, ())
            earlier, stored = register(current, key, now, window_s=self.window_s)
            if stored != current:
                self._entries[ckey] = stored
                records.append((ckey.encode(), orjson.dumps([list(e) for e in stored])))
            if earlier is not None:
                domain = opp.customer.normalised_domain  # the key holds its keyed hash only
                overlap.append(need)
                if earlier <= first:
                    first = earlier
                    first_key = next(k for t, k in stored if t == earlier)
        found = Found(domain, tuple(overlap), first, first_key) if overlap else None
        return found, records

    def release(self, opp: Opportunity, key: str) -> list[tuple[bytes, bytes]]:
        """Forget ``opp``'s registrations (it was withdrawn or closed): the claim records to
        publish (an empty list where nothing is left); nothing when it held no claim."""
        records: list[tuple[bytes, bytes]] = []
        for ckey in conflict_keys(opp):
            current = self._entries.get(ckey, ())
            kept = tuple(e for e in current if e[1] != key)
            if kept == current:
                continue
            if kept:
                self._entries[ckey] = kept
            else:
                del self._entries[ckey]
            records.append((ckey.encode(), orjson.dumps([list(e) for e in kept])))
        return records

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        """The ``TopicFollower`` sink of the claims topic (the latest list per key wins)."""
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
