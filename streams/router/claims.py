"""Conflict-detection state: the registrations of each customer (normalised domain) and need.

Opportunities are keyed by their own id, so two opportunities for the same customer usually land on
different partitions and workers. The registrations therefore live on a compacted topic (key
``domain|need``, value the JSON list of ``[registered_at, opportunity_key]`` pairs) that every
worker reads whole (a ``GlobalView``), and the routing core's pure ``register`` step decides. A
worker applies its own registrations at once, so its next opportunity sees them without waiting
for the round trip. Two workers registering the same customer within the same few milliseconds
can both miss each other: that window is accepted (the embedded broker has no transactions).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from schemas.opportunity import Opportunity
from streams.routing.conflicts import Registration, conflict_keys, register

__all__ = ["ClaimRegistry", "Found"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """The needs of an opportunity already registered for its customer, and since when."""

    domain: str
    needs: tuple[str, ...]
    first_at: float


class ClaimRegistry:
    """``domain|need`` -> registrations within the conflict window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._entries: dict[str, tuple[Registration, ...]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def register(
        self, opp: Opportunity, key: str, now: float
    ) -> tuple[Found | None, list[tuple[bytes, bytes]]]:
        """Register ``opp`` at ``now``: its conflict (if any) and the claim records to publish."""
        if self.window_s <= 0:
            return None, []
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
        self._entries[ckey] = entries
