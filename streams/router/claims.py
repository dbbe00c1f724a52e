"""Conflict detection state: which customer (normalised domain) and need is already registered.

Opportunities are keyed by their own id, so two opportunities for the same customer usually land on
different partitions and workers. The claims therefore live on a compacted topic (key
``domain|need``) that every worker reads whole (a ``GlobalView``); a worker also records its own
claims at once, so its next opportunity sees them without waiting for the round trip. Two workers
registering the same customer within the same few milliseconds can both miss each other: that
window is accepted and documented (the embedded broker has no transactions to close it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

__all__ = ["Claim", "ClaimRegistry", "Conflict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    opportunity_key: str
    at: float


@dataclass(frozen=True)
class Conflict:
    domain: str
    needs: tuple[str, ...]
    first_at: float


class ClaimRegistry:
    """(domain, need) -> the first opportunity that registered it, within the conflict window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._claims: dict[tuple[str, str], Claim] = {}

    def __len__(self) -> int:
        return len(self._claims)

    def check(self, domain: str, needs: Sequence[str], key: str, now: float) -> Conflict | None:
        """The needs of ``key`` another opportunity registered for ``domain`` within the window."""
        if self.window_s <= 0:
            return None
        overlap: list[str] = []
        first = now
        for need in needs:
            claim = self._claims.get((domain, need))
            if claim is None or claim.opportunity_key == key:
                continue
            if now - claim.at <= self.window_s:
                overlap.append(need)
                first = min(first, claim.at)
        return Conflict(domain, tuple(overlap), first) if overlap else None

    def record(self, domain: str, need: str, claim: Claim) -> bool:
        """Keep the earliest live claim of (domain, need); True when this one was recorded."""
        current = self._claims.get((domain, need))
        if current is not None and current.opportunity_key != claim.opportunity_key:
            if claim.at - current.at <= self.window_s:
                return False
        if current is not None and current.opportunity_key == claim.opportunity_key:
            return False
        self._claims[(domain, need)] = claim
        return True

    # -- the compacted topic: key b"domain|need", value {"opportunity_key", "at"} ----------------
    @staticmethod
    def record_bytes(domain: str, need: str, claim: Claim) -> tuple[bytes, bytes]:
        key = f"{domain}|{need}".encode()
        value = orjson.dumps({"opportunity_key": claim.opportunity_key, "at": claim.at})
        return key, value

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        """The ``GlobalView`` sink of the claims topic."""
        del headers
        if key is None or value is None:
            return
        try:
            domain, _, need = key.decode().partition("|")
            data = orjson.loads(value)
            claim = Claim(str(data["opportunity_key"]), float(data["at"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            log.warning("bad claim record topic=%s partition=%d offset=%d: %r", *origin, exc)
            return
        self.record(domain, need, claim)
