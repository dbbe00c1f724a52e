"""The directory's columnar side: per-partner feature columns and tiered posting lists (numpy).

Every active partner has a *slot*; :class:`Columns` holds one array per feature, indexed by slot,
so :mod:`streams.routing.scan` computes eligibility and scores for many partners at once:

- from the profile: capabilities, industries and certified capabilities as bit masks (the low 63
  bits; bit 63 flags a partner with a bit beyond, checked one by one), the number of
  capabilities, accepting, capacity, the earliest and the latest expiry among its best
  certification per capability, and the id hash of the tie-break;
- from the stats (filled by :meth:`streams.routing.directory.PartnerDirectory.sync_stats`): the
  stats part of the score (acceptance, win, speed, weighted) and the open offers.

A posting list (:class:`Rows`) holds ``(slot, generation)`` pairs; a row counts while its
generation is the slot's (a change bumps it: no search to delete). The posting list of a
(capability, region) key is split into :data:`TIERS` tiers by an upper bound of the
stats-dependent part of the score (``ub`` = weighted stats part + weighted load), so the scan can
stop once no partner of the tiers left can beat the k-th best score found; tier :data:`PENDING`
holds the rows whose stats are not known yet (always scanned first).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from streams.routing.stats import PartnerStats
from streams.routing.weights import Weights

__all__ = ["PENDING", "TIERS", "Columns", "Rows", "low_bits", "tier_of"]

TIERS = 64
PENDING = TIERS  # the tier of rows whose stats terms are not computed yet
_LOW = (1 << 63) - 1
_FLAG = 1 << 63
NEVER = float("inf")

I32 = npt.NDArray[np.int32]


def low_bits(mask: int) -> int:
    """A bit mask as a uint64 column value: its low 63 bits, bit 63 set when it has higher ones."""
    return (mask & _LOW) | (_FLAG if mask >> 63 else 0)


def tier_of(ub: float, width: float) -> int:
    """The tier of a stats upper bound ``ub`` (tiers of ``width`` from 0)."""
    if width <= 0:
        return 0
    return min(TIERS - 1, max(0, int(ub / width)))


class Rows:
    """A growable posting list of ``(slot, generation)``; dead rows are purged when many."""

    __slots__ = ("dead", "gen", "n", "slot")

    def __init__(self, slots: I32 | None = None, gens: I32 | None = None) -> None:
        if slots is None or gens is None:
            self.slot: I32 = np.empty(4, np.int32)
            self.gen: I32 = np.empty(4, np.int32)
            self.n = 0
        else:
            self.slot, self.gen, self.n = slots, gens, len(slots)
        self.dead = 0

    def append(self, slot: int, gen: int) -> None:
        n = self.n
        if n == len(self.slot):
            extra = max(4, n >> 1)
            self.slot = np.concatenate((self.slot, np.empty(extra, np.int32)))
            self.gen = np.concatenate((self.gen, np.empty(extra, np.int32)))
        self.slot[n] = slot
        self.gen[n] = gen
        self.n = n + 1

    def alive(self, generation: I32) -> I32:
        """The slots of the live rows (the current generation of their slot)."""
        slots = self.slot[: self.n]
        alive: I32 = slots[generation[slots] == self.gen[: self.n]]
        return alive

    def killed(self, generation: I32) -> None:
        """One row died; purge the dead rows once they are half of the list."""
        self.dead += 1
        if self.dead * 2 > self.n and self.n > 16:
            slots, gens = self.slot[: self.n], self.gen[: self.n]
            keep = generation[slots] == gens
            self.slot, self.gen = slots[keep].copy(), gens[keep].copy()
            self.n, self.dead = len(self.slot), 0

    def nbytes(self) -> int:
        return int(self.slot.nbytes + self.gen.nbytes)


_COLUMNS: dict[str, Any] = {
    "gen": np.int32,
    "caps": np.uint64,
    "ncaps": np.int32,
    "industries": np.uint64,
    "accepting": np.bool_,
    "capacity": np.int64,
    "cert_bits": np.uint64,
    "cert_min": np.float64,
    "cert_max": np.float64,
    "id_hash": np.uint64,
    "dyn": np.float64,
    "open": np.int64,
    "tier": np.int16,
    "accepted": np.int64,
    "declined": np.int64,
    "expired": np.int64,
    "won": np.int64,
    "lost": np.int64,
    "mean_s": np.float64,  # mean seconds to accept; NaN: never accepted
    "marks": np.uint16,
}


class Columns:
    """One numpy array per partner feature, indexed by slot (grown by half when full)."""

    gen: I32
    caps: npt.NDArray[np.uint64]
    ncaps: I32
    industries: npt.NDArray[np.uint64]
    accepting: npt.NDArray[np.bool_]
    capacity: npt.NDArray[np.int64]
    cert_bits: npt.NDArray[np.uint64]
    cert_min: npt.NDArray[np.float64]
    cert_max: npt.NDArray[np.float64]
    id_hash: npt.NDArray[np.uint64]
    dyn: npt.NDArray[np.float64]
    open: npt.NDArray[np.int64]
    tier: npt.NDArray[np.int16]
    accepted: npt.NDArray[np.int64]
    declined: npt.NDArray[np.int64]
    expired: npt.NDArray[np.int64]
    won: npt.NDArray[np.int64]
    lost: npt.NDArray[np.int64]
    mean_s: npt.NDArray[np.float64]
    marks: npt.NDArray[np.uint16]  # scratch flags of one scan (all zero between scans)

    def __init__(self) -> None:
        self.size = 0
        for name, dtype in _COLUMNS.items():
            setattr(self, name, np.zeros(0, dtype))

    def ensure(self, slot: int) -> None:
        if slot < self.size:
            return
        size = max(1024, slot + 1, self.size + (self.size >> 1))
        for name in _COLUMNS:
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[: self.size] = old
            setattr(self, name, new)
        self.size = size

    def set_stats(self, slot: int, stats: PartnerStats) -> None:
        """The counts the stats factors are computed from (for weights other than the synced)."""
        self.accepted[slot] = stats.accepted
        self.declined[slot] = stats.declined
        self.expired[slot] = stats.expired
        self.won[slot] = stats.won
        self.lost[slot] = stats.lost
        mean = stats.mean_s_to_accept
        self.mean_s[slot] = np.nan if mean is None else mean

    def stats_part(self, slots: Any, w: Weights) -> Any:
        """``stats.stats_part`` under ``w`` for many partners: its arithmetic, in its order."""
        prior = w.prior * w.prior_strength
        decided = (self.accepted[slots] + self.declined[slots] + self.expired[slots]) + (
            w.prior_strength
        )
        accepted = self.accepted[slots] + prior
        acceptance = np.divide(
            accepted, decided, out=np.full(len(slots), w.prior), where=decided > 0
        )
        closed = (self.won[slots] + self.lost[slots]) + w.prior_strength
        won = self.won[slots] + prior
        win = np.divide(won, closed, out=np.full(len(slots), w.prior), where=closed > 0)
        mean = self.mean_s[slots]
        never = np.isnan(mean)
        speed = np.where(
            never, w.unknown, 1.0 / (1.0 + np.where(never, 0.0, mean) / w.speed_half_life_s)
        )
        return w.acceptance * acceptance + w.win * win + w.speed * speed

    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in _COLUMNS)
