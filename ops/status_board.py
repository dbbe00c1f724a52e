"""The status page's memory: funnel counts over time, top reasons, lag, recent dead letters.

Pure and bounded: events are counted into fixed-width time buckets (by the event's own time, so a
replay from the beginning rebuilds the same history) kept for ``retention_s``; reasons are bounded
vocabularies (streams.metrics); at most ``recent`` dead letters are kept, without their payload.
``summary()`` is the JSON body of ``GET /v1/status/summary``.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FEE_KINDS", "STEPS", "DeadLetterNote", "StatusBoard"]

# The fee ledger's events, counted by kind (with their amounts per currency).
FEE_KINDS = ("accrued", "approved", "settled", "reversed")

# The funnel steps, in the order the page shows them.
STEPS = (
    "published",
    "offered",
    "accepted",
    "declined",
    "expired",
    "won",
    "lost",
    "withdrawn",
    "reoffered",
    "unroutable",
    "conflicts",
    "dead_letters",
)
# Bucket widths the summary may use: the finest one that fits the data in MAX_POINTS.
_WIDTHS = (10, 60, 300, 900, 3600)
MAX_POINTS = 60


@dataclass(frozen=True, slots=True)
class DeadLetterNote:
    """What the page shows of a dead letter: where and why, never the payload or ids of parties."""

    at: datetime
    reason: str
    source_topic: str
    partition: int
    offset: int
    event_type: str
    consumer: str


class StatusBoard:
    """Funnel counts per time bucket plus the latest lag, worker and dead-letter state."""

    def __init__(
        self,
        *,
        bucket_s: int = _WIDTHS[0],
        retention_s: int = 86_400,
        recent: int = 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bucket_s = bucket_s
        self._retention_s = retention_s
        self._clock = clock
        self._buckets: dict[int, Counter[str]] = {}
        self._totals: Counter[str] = Counter()
        self._unroutable: Counter[str] = Counter()
        self._declines: Counter[str] = Counter()
        self._dead_reasons: Counter[str] = Counter()
        self._revenue: dict[str, Decimal] = {}
        self._recent: deque[DeadLetterNote] = deque(maxlen=recent)
        self._lag: dict[str, int] = {}
        self._worker_up: bool | None = None
        self._last_event: datetime | None = None
        self._feed_error: str | None = None
        self._policy: dict[str, Any] = {"version": 0, "applied_at": None}
        self._fees: dict[str, dict[str, Decimal]] = {k: {} for k in FEE_KINDS}
        self._fee_counts: Counter[str] = Counter()

    # -- recording ----------------------------------------------------------------------------
    def count(self, step: str, at: datetime, n: int = 1) -> None:
        if step not in STEPS:
            raise ValueError(f"unknown funnel step {step!r}")
        self._totals[step] += n
        ts = int(at.timestamp())
        if ts >= self._clock() - self._retention_s:
            key = ts - ts % self._bucket_s
            self._buckets.setdefault(key, Counter())[step] += n
            self._expire()
        if self._last_event is None or at > self._last_event:
            self._last_event = at

    def declined(self, reason: str, at: datetime) -> None:
        self._declines[reason] += 1
        self.count("declined", at)

    def unroutable(self, rule: str, at: datetime) -> None:
        self._unroutable[rule] += 1
        self.count("unroutable", at)

    def won(self, at: datetime, currency: str, amount: str) -> None:
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = Decimal(0)
        self._revenue[currency] = self._revenue.get(currency, Decimal(0)) + value
        self.count("won", at)

    def fee(self, kind: str, currency: str, amount: Decimal) -> None:
        """One fee event (the caller counts each event id once)."""
        if kind not in FEE_KINDS:
            raise ValueError(f"unknown fee event {kind!r}")
        self._fee_counts[kind] += 1
        by_currency = self._fees[kind]
        by_currency[currency] = by_currency.get(currency, Decimal(0)) + amount

    def dead_letter(self, note: DeadLetterNote) -> None:
        self._dead_reasons[note.reason] += 1
        self._recent.append(note)
        self.count("dead_letters", note.at)

    def set_lag(self, lag: dict[str, int]) -> None:
        self._lag = dict(lag)

    def set_worker_up(self, up: bool | None) -> None:
        self._worker_up = up

    def set_policy(self, version: int, applied_at: datetime | None) -> None:
        """The routing policy version in force (0: the built-in defaults)."""
        self._policy = {"version": version, "applied_at": _iso(applied_at) if applied_at else None}

    def set_feed_error(self, error: str | None) -> None:
        self._feed_error = error

    def _expire(self) -> None:
        if len(self._buckets) <= self._retention_s // self._bucket_s:
            return
        horizon = self._clock() - self._retention_s
        for key in [k for k in self._buckets if k < horizon]:
            del self._buckets[key]

    # -- reading ------------------------------------------------------------------------------
    def series(self, now: float | None = None) -> dict[str, Any]:
        """Counts per bucket from the first retained event to now, at most MAX_POINTS buckets."""
        now = self._clock() if now is None else now
        if not self._buckets:
            return {"bucket_s": 60, "points": []}
        first, last = min(self._buckets), max(max(self._buckets), int(now))
        span = max(last - first, 1)
        width = next((w for w in _WIDTHS if span // w < MAX_POINTS), _WIDTHS[-1])
        start = int(max(first, last - width * (MAX_POINTS - 1)))
        start -= start % width
        merged: dict[int, Counter[str]] = {}
        for key, counts in self._buckets.items():
            if key >= start:
                merged.setdefault(key - key % width, Counter()).update(counts)
        points = []
        for t in range(start, last + 1, width):
            counts = merged.get(t, Counter())
            points.append({"t": t, **{s: counts.get(s, 0) for s in STEPS}})
        return {"bucket_s": width, "points": points}

    def summary(self, now: float | None = None) -> dict[str, Any]:
        t = self._totals
        decided = t["accepted"] + t["declined"] + t["expired"]
        closed = t["won"] + t["lost"]
        return {
            "generated_at": _iso(datetime.fromtimestamp(self._clock(), UTC)),
            "funnel": {step: t[step] for step in STEPS},
            "rates": {
                "acceptance": round(t["accepted"] / decided, 4) if decided else None,
                "win": round(t["won"] / closed, 4) if closed else None,
            },
            "revenue": {cur: format(v, "f") for cur, v in sorted(self._revenue.items())},
            "series": self.series(now),
            "unroutable": _top(self._unroutable, "rule"),
            "declines": _top(self._declines, "reason"),
            "lag": dict(sorted(self._lag.items())),
            "worker_up": self._worker_up,
            "policy": dict(self._policy),
            "fees": {
                kind: {
                    "count": self._fee_counts[kind],
                    "amounts": {c: format(v, "f") for c, v in sorted(self._fees[kind].items())},
                }
                for kind in FEE_KINDS
            },
            "dead_letters": {
                "total": t["dead_letters"],
                "by_reason": _top(self._dead_reasons, "reason"),
                "recent": [_note(n) for n in reversed(self._recent)],
            },
            "feed": {
                "last_event_at": _iso(self._last_event) if self._last_event else None,
                "error": self._feed_error,
            },
        }


def _top(counts: Counter[str], name: str, n: int = 10) -> list[dict[str, Any]]:
    return [{name: key, "count": c} for key, c in counts.most_common(n)]


def _note(note: DeadLetterNote) -> dict[str, Any]:
    return {
        "at": _iso(note.at),
        "reason": note.reason,
        "topic": note.source_topic,
        "partition": note.partition,
        "offset": note.offset,
        "event_type": note.event_type,
        "consumer": note.consumer,
    }


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
