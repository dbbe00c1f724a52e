"""Time to accept: an exact mean and a median that stays compact however many offers are accepted.

The samples are kept exactly (sorted) while there are at most :data:`EXACT_LIMIT` of them, so small
scorecards show the exact median; a sparse log-scale histogram (16 buckets per doubling, each about
4.4 % wide) is kept all along and gives the median beyond that, within about 2.2 % (the geometric
middle of the median's bucket). Both only depend on the multiset of samples, never on their order.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUCKETS_PER_DOUBLING", "EXACT_LIMIT", "AcceptTimes", "bucket_of"]

EXACT_LIMIT = 64
BUCKETS_PER_DOUBLING = 16


def bucket_of(seconds: float) -> int:
    """Histogram bucket of a duration: 0 holds everything under one second."""
    if seconds < 1.0:
        return 0
    return 1 + math.floor(math.log2(seconds) * BUCKETS_PER_DOUBLING)


def _bucket_middle(bucket: int) -> float:
    if bucket == 0:
        return 0.5
    low = 2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING)
    return low * 2 ** (0.5 / BUCKETS_PER_DOUBLING)


@dataclass(frozen=True, slots=True)
class AcceptTimes:
    """Seconds from offer to acceptance over all accepted referrals of one partner."""

    count: int = 0
    total_ms: int = 0  # integer milliseconds: sums exactly, in any order
    samples: tuple[int, ...] | None = ()  # sorted milliseconds; None once more than EXACT_LIMIT
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, seconds: float) -> AcceptTimes:
        ms = max(0, round(seconds * 1000))
        histogram = dict(self.histogram)
        bucket = bucket_of(ms / 1000)
        histogram[bucket] = histogram.get(bucket, 0) + 1
        samples: tuple[int, ...] | None = None
        if self.samples is not None and self.count < EXACT_LIMIT:
            grown = list(self.samples)
            insort(grown, ms)
            samples = tuple(grown)
        return AcceptTimes(self.count + 1, self.total_ms + ms, samples, histogram)

    @property
    def mean(self) -> float | None:
        """Mean seconds to accept."""
        return self.total_ms / self.count / 1000 if self.count else None

    @property
    def median(self) -> float | None:
        """Median seconds to accept (exact up to EXACT_LIMIT samples, else within ~2.2 %)."""
        if not self.count:
            return None
        if self.samples is not None:
            mid = self.count // 2
            if self.count % 2:
                return self.samples[mid] / 1000
            return (self.samples[mid - 1] + self.samples[mid]) / 2000
        rank = (self.count + 1) // 2  # the lower median's rank, 1-based
        seen = 0
        for bucket in sorted(self.histogram):
            seen += self.histogram[bucket]
            if seen >= rank:
                return _bucket_middle(bucket)
        raise AssertionError("histogram counts do not add up")  # pragma: no cover

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total_ms": self.total_ms,
            "samples": None if self.samples is None else list(self.samples),
            "histogram": [[b, n] for b, n in sorted(self.histogram.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AcceptTimes:
        samples = data["samples"]
        return cls(
            count=int(data["count"]),
            total_ms=int(data["total_ms"]),
            samples=None if samples is None else tuple(int(s) for s in samples),
            histogram={int(b): int(n) for b, n in data["histogram"]},
        )
