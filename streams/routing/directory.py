"""The partner directory: the latest profile of every partner, indexed by capability x region.

Built from capability updates (``PartnerProfile`` events on the ``partners`` topic):

- last writer wins per partner by ``(version, updated_at)``; a stale, repeated or out-of-order update
  changes nothing and :meth:`PartnerDirectory.apply` returns ``False``;
- ``active=False`` removes the partner from routing (its version is kept, so an older update that
  arrives later cannot bring it back);
- certifications are kept with their expiry; only the operator-verified ones count (claimed ones
  are kept for the explanations), and whether one counts is decided at routing time against the
  event time ``now`` (:meth:`PartnerEntry.certified`);
- the capacity is the smaller of the partner's and the operator's ``capacity_cap``.

The index maps (capability, region) to the partners offering that capability and serving that
region, so the partners covering every need of an opportunity are found among those of one need,
in the buckets for the opportunity's region and for its country (`US` covers `US-CA`; a partner
serving only `US-CA` is found neither for `US-NY` nor for plain `US`). A partner is in the bucket
of every region it serves; the ones serving a subdivision and its whole country are also listed
per subdivision (:meth:`PartnerDirectory.dual`), so a scan of both buckets counts them once.

Every partner also has a row of feature columns and its posting lists are split into tiers by a
bound of its stats (:mod:`streams.routing.columns`); :meth:`PartnerDirectory.sync_stats` keeps
those in step with a stats view, incrementally when the view reports its changes.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from schemas.partner import PartnerProfile
from streams.routing.columns import PENDING, TIERS, Columns, Rows, low_bits, tier_of
from streams.routing.stats import StatsView, stats_part
from streams.routing.weights import Weights

__all__ = ["PartnerDirectory", "PartnerEntry"]

_NO_IDS: frozenset[str] = frozenset()
_NEVER = float("inf")
_HOLDER = 1 << 62  # the keys of certification holders' posting lists
_ADOPT_AFTER = 8  # calls in a row with other weights before the tiers are rebuilt for them
_Tiers = list[Rows | None]


def _id_hash(partner_id: str) -> int:
    """A stable 64-bit hash of a partner id (``hash()`` of a str changes between processes)."""
    return int.from_bytes(hashlib.blake2b(partner_id.encode(), digest_size=8).digest(), "big")


class PartnerEntry:
    """The compact routing view of one partner's latest profile."""

    __slots__ = (
        "accepting",
        "capacity",
        "capped",
        "caps",
        "certs",
        "claimed",
        "competitors",
        "id_hash",
        "industries",
        "partner_id",
        "refuses",
        "regions",
        "slot",
        "updated_ts",
        "version",
    )

    def __init__(self, profile: PartnerProfile, slot: int, directory: PartnerDirectory) -> None:
        self.partner_id: str = sys.intern(profile.partner_id)
        self.slot = slot
        self.version = profile.version
        self.updated_ts = profile.updated_at.timestamp()
        self.caps: int = directory.capability_mask(profile.capabilities, create=True)
        self.regions: int = 0  # bit mask of region ids
        for region in profile.regions:
            self.regions |= 1 << directory.region_id(region, create=True)
        certs = [
            (
                directory.capability_mask((c.capability,), create=True),
                sys.intern(c.vendor.lower()),
                c.expires_at.timestamp() if c.expires_at is not None else _NEVER,
            )
            for c in profile.certifications
        ]
        verified = [c.status == "verified" for c in profile.certifications]
        # only operator-verified certifications count; the claimed ones are kept for reasons
        self.certs: tuple[tuple[int, str, float], ...] = tuple(
            c for c, ok in zip(certs, verified, strict=True) if ok
        )
        self.claimed: tuple[tuple[int, str, float], ...] = (
            tuple(c for c, ok in zip(certs, verified, strict=True) if not ok) or ()
        )
        self.accepting = profile.accepting
        cap = profile.capacity_cap
        # the operator's cap, when set, bounds what the partner states
        self.capacity = profile.capacity if cap is None else min(profile.capacity, cap)
        self.capped = cap is not None and cap < profile.capacity
        self.competitors: frozenset[str] = (
            frozenset(sys.intern(p) for p in profile.competitors)
            if profile.competitors
            else _NO_IDS
        )
        self.refuses: frozenset[str] = (
            frozenset(sys.intern(p) for p in profile.refuses) if profile.refuses else _NO_IDS
        )
        self.industries: int = directory.industry_mask(profile.industries, create=True)
        self.id_hash = directory.id_hash(self.partner_id)

    @property
    def ncaps(self) -> int:
        return self.caps.bit_count()

    def certified(self, cap_bit: int, now_ts: float, vendor: str | None = None) -> bool:
        """Holds a certification for the capability bit (of ``vendor``) valid at ``now_ts``."""
        for bit, cert_vendor, expires in self.certs:
            if bit == cap_bit and now_ts < expires and (vendor is None or vendor == cert_vendor):
                return True
        return False


class PartnerDirectory:
    """Latest partner profiles (last writer wins) with the capability x region index."""

    def __init__(self) -> None:
        self._cap_bits: dict[str, int] = {}
        self._region_ids: dict[str, int] = {}
        self._country_of: list[int] = []  # region id -> its country's region id, or -1
        self._industry_bits: dict[str, int] = {}
        self._by_id: dict[str, PartnerEntry] = {}  # active and deactivated (the tombstones)
        self._slots: list[PartnerEntry | None] = []  # slot -> entry while active
        self._free: list[int] = []
        self.columns = Columns()
        # (cap bit index << 20 | region id) -> per tier, the rows of the partners
        self._index: dict[int, _Tiers] = {}
        # subdivision region id -> slots of partners serving it and its whole country
        self._dual: dict[int, set[int]] = {}
        # (cap bit mask, lowercased vendor) -> slot -> latest expiry of such a certification
        self._holders: dict[tuple[int, str], dict[int, float]] = {}
        self._holder_arrays: dict[tuple[int, str], tuple[Any, Any]] = {}
        self._vendor_ids: dict[str, int] = {}
        # partner id -> ids of the partners listing it as competitor / refused
        self._named_competitor: dict[str, set[str]] = {}
        self._named_refused: dict[str, set[str]] = {}
        self._active = 0
        # the stats the tiers and stats columns were computed from (see sync_stats)
        self._unsynced: set[int] = set()
        self._synced: tuple[object, tuple[float, ...], int] | None = None
        self._tier_width = 0.0
        self._synced_weights: Weights | None = None
        self._foreign = 0  # calls in a row with the same other weights
        self._foreign_terms: tuple[float, ...] = ()

    # -- interning -------------------------------------------------------------------------------
    def capability_mask(self, codes: Iterable[str], *, create: bool = False) -> int:
        """The bit mask of capability codes; unknown codes map to no bit unless ``create``."""
        mask = 0
        for code in codes:
            bit = self._cap_bits.get(code)
            if bit is None:
                if not create:
                    continue
                bit = self._cap_bits[code] = len(self._cap_bits)
            mask |= 1 << bit
        return mask

    def capability_codes(self, mask: int) -> set[str]:
        """The capability codes of a bit mask (the inverse of :meth:`capability_mask`)."""
        return {code for code, bit in self._cap_bits.items() if mask >> bit & 1}

    def region_id(self, region: str, *, create: bool = False) -> int:
        rid = self._region_ids.get(region)
        if rid is None:
            if not create:
                return -1
            country = self.region_id(region[:2], create=True) if len(region) > 2 else -1
            rid = self._region_ids[sys.intern(region)] = len(self._region_ids)
            self._country_of.append(country)
        return rid

    def _indexed_regions(self, regions: int) -> Iterator[int]:
        """The region ids a partner is indexed under: every region it serves. One serving a
        subdivision and its whole country is in both buckets (and in :meth:`dual`, so that a
        scan of both skips it in the country's)."""
        return _bits(regions)

    def _dual_regions(self, regions: int) -> Iterator[int]:
        """The subdivisions a partner serves along with their whole country."""
        for rid in _bits(regions):
            country = self._country_of[rid]
            if country >= 0 and regions >> country & 1:
                yield rid

    def industry_mask(self, industries: Iterable[str], *, create: bool = False) -> int:
        """The bit mask of industries (case-insensitive); unknown ones map to no bit."""
        mask = 0
        for name in industries:
            key = name.lower()
            bit = self._industry_bits.get(key)
            if bit is None:
                if not create:
                    continue
                bit = self._industry_bits[sys.intern(key)] = len(self._industry_bits)
            mask |= 1 << bit
        return mask

    @staticmethod
    def id_hash(partner_id: str) -> int:
        return _id_hash(partner_id)

    # -- updates ---------------------------------------------------------------------------------
    def apply(self, profile: PartnerProfile) -> bool:
        """Apply a capability update; ``False`` when it is stale or repeated (nothing changed)."""
        current = self._by_id.get(profile.partner_id)
        if current is not None:
            incoming = (profile.version, profile.updated_at.timestamp())
            if incoming <= (current.version, current.updated_ts):
                return False
            if current.slot >= 0:
                self._unindex(current)
        if not profile.active:
            self._by_id[profile.partner_id] = PartnerEntry(profile, -1, self)
            return True
        slot = self._free.pop() if self._free else len(self._slots)
        entry = PartnerEntry(profile, slot, self)
        if slot == len(self._slots):
            self._slots.append(entry)
        else:
            self._slots[slot] = entry
        self._by_id[entry.partner_id] = entry
        self._index_entry(entry)
        return True

    def _keys(self, entry: PartnerEntry) -> list[int]:
        """The posting lists of a partner: (capability, region) for every capability and region
        it has, and (verified certification's vendor, capability, region) for every such one."""
        regions = list(self._indexed_regions(entry.regions))
        keys = [bit << 20 | rid for bit in _bits(entry.caps) for rid in regions]
        if entry.certs:
            held = {(bit.bit_length() - 1, vendor) for bit, vendor, _x in entry.certs}
            keys.extend(self._holder_key(b, v, rid) for b, v in held for rid in regions)
        return keys

    def _holder_key(self, cap_bit_index: int, vendor: str, rid: int) -> int:
        vendor_id = self._vendor_ids.get(vendor)
        if vendor_id is None:
            vendor_id = self._vendor_ids[vendor] = len(self._vendor_ids)
        return _HOLDER | vendor_id << 40 | cap_bit_index << 20 | rid

    def _index_entry(self, entry: PartnerEntry) -> None:
        slot, cols = entry.slot, self.columns
        cols.ensure(slot)
        cols.caps[slot] = low_bits(entry.caps)
        cols.ncaps[slot] = entry.ncaps
        cols.industries[slot] = low_bits(entry.industries)
        cols.accepting[slot] = entry.accepting
        cols.capacity[slot] = entry.capacity
        best: dict[int, float] = {}
        for bit, _vendor, expires in entry.certs:
            best[bit] = max(best.get(bit, -_NEVER), expires)
        cols.cert_bits[slot] = low_bits(sum(best))
        cols.cert_min[slot] = min(best.values(), default=_NEVER)
        cols.cert_max[slot] = max(best.values(), default=-_NEVER)
        cols.id_hash[slot] = entry.id_hash
        cols.tier[slot] = PENDING
        self._unsynced.add(slot)
        gen = int(cols.gen[slot])
        for key in self._keys(entry):
            tiers = self._index.get(key)
            if tiers is None:
                tiers = self._index[key] = [None] * (TIERS + 1)
            rows = tiers[PENDING]
            if rows is None:
                rows = tiers[PENDING] = Rows()
            rows.append(slot, gen)
        for rid in self._dual_regions(entry.regions):
            self._dual.setdefault(rid, set()).add(slot)
        for bit, vendor, expires in entry.certs:
            held = self._holders.setdefault((bit, vendor), {})
            held[slot] = max(held.get(slot, -_NEVER), expires)
            self._holder_arrays.pop((bit, vendor), None)
        for named, index in (
            (entry.competitors, self._named_competitor),
            (entry.refuses, self._named_refused),
        ):
            for pid in named:
                index.setdefault(pid, set()).add(entry.partner_id)
        self._active += 1

    def _kill_rows(self, entry: PartnerEntry) -> None:
        """Bump the slot's generation: every row of it in the posting lists is dead."""
        slot, cols = entry.slot, self.columns
        tier = int(cols.tier[slot])
        cols.gen[slot] += 1
        for key in self._keys(entry):
            rows = self._index[key][tier]
            if rows is not None:
                rows.killed(cols.gen)

    def _unindex(self, entry: PartnerEntry) -> None:
        slot = entry.slot
        self._kill_rows(entry)
        for rid in self._dual_regions(entry.regions):
            self._dual[rid].discard(slot)
        for bit, vendor, _expires in entry.certs:
            self._holders[bit, vendor].pop(slot, None)
            self._holder_arrays.pop((bit, vendor), None)
        for named, index in (
            (entry.competitors, self._named_competitor),
            (entry.refuses, self._named_refused),
        ):
            for pid in named:
                index[pid].discard(entry.partner_id)
        self._unsynced.discard(slot)
        self._slots[slot] = None
        self._free.append(slot)
        entry.slot = -1
        self._active -= 1

    # -- stats -----------------------------------------------------------------------------------
    def sync_stats(self, stats: StatsView, weights: Weights) -> bool:
        """Bring the stats columns and tiers in step with ``stats``; True when they were computed
        under ``weights`` (False: other weights, whose ranking cannot use the tiers' bound).

        A view with ``changes_since(revision) -> (revision, changed partner ids or None)`` is
        followed incrementally (only the changed partners and the new profiles are recomputed);
        another view or an unknown gap recompute every partner. Other weights than the synced
        ones recompute everything only once they are asked for :data:`_ADOPT_AFTER` times in a
        row (a new policy): callers alternating two policies (``oppbus replay``) keep the tiers.
        """
        terms = _stat_weights(weights)
        changes = getattr(stats, "changes_since", None)
        synced = self._synced
        changed: Iterable[str] | None = None
        revision = 0
        if synced is not None and synced[1] != terms:
            self._foreign = self._foreign + 1 if self._foreign_terms == terms else 1
            self._foreign_terms = terms
        else:
            self._foreign = 0
        adopt = self._foreign >= _ADOPT_AFTER
        if synced is not None and synced[0] is stats and changes and not adopt:
            weights = self._synced_weights or weights
            revision, changed = changes(synced[2])
        elif changes:
            revision, _ = changes(0)
        if changed is None:
            self._resync_all(stats, weights)
            self._synced_weights = weights
            self._foreign = 0
        else:
            slots = set(self._unsynced)
            for pid in changed:
                entry = self.get(pid)
                if entry is not None:
                    slots.add(entry.slot)
            for slot in slots:
                self._sync_slot(slot, stats, weights)
        self._unsynced.clear()
        self._synced = (stats, _stat_weights(weights), revision)
        return self._synced[1] == terms

    def _sync_slot(self, slot: int, stats: StatsView, weights: Weights) -> None:
        entry = self._slots[slot]
        assert entry is not None
        cols = self.columns
        st = stats.partner(entry.partner_id)
        cols.dyn[slot] = stats_part(st, weights)
        cols.open[slot] = st.open_offers
        cols.set_stats(slot, st)
        tier = tier_of(float(self._bounds(weights, slice(slot, slot + 1))[0]), self._tier_width)
        if tier != cols.tier[slot]:
            self._kill_rows(entry)
            cols.tier[slot] = tier
            gen = int(cols.gen[slot])
            for key in self._keys(entry):
                tiers = self._index[key]
                rows = tiers[tier]
                if rows is None:
                    rows = tiers[tier] = Rows()
                rows.append(slot, gen)

    def _bounds(self, w: Weights, slots: Any) -> Any:
        """What the tiers sort by, an upper bound of the part of a partner's weighted score that
        does not depend on the opportunity's region or industry: its stats part, its load, its
        fit for one need (1 / capabilities) and whether it holds any certification."""
        cols = self.columns
        opened, capacity = cols.open[slots], cols.capacity[slots]
        free = capacity > opened
        share = np.divide(opened, capacity, out=np.zeros(len(opened)), where=free)
        load = np.where(free, 1.0 - share, 0.0)
        ncaps = np.maximum(cols.ncaps[slots], 1)
        certified = np.where(cols.cert_bits[slots] != 0, 1.0, 0.0)
        return cols.dyn[slots] + w.load * load + w.fit / ncaps + w.certification * certified

    def _resync_all(self, stats: StatsView, weights: Weights) -> None:
        cols = self.columns
        w = weights
        self._tier_width = (
            w.acceptance + w.win + w.speed + w.load + w.fit + w.certification
        ) / TIERS
        dyn, opened = cols.dyn, cols.open
        partner = stats.partner
        live = []
        for slot, entry in enumerate(self._slots):
            if entry is None:
                continue
            st = partner(entry.partner_id)
            dyn[slot] = stats_part(st, weights)
            opened[slot] = st.open_offers
            cols.set_stats(slot, st)
            live.append(slot)
        if live:
            slots = np.array(live, np.int64)
            ub = self._bounds(weights, slots)
            width = self._tier_width or 1.0
            cols.tier[slots] = np.clip((ub / width).astype(np.int64), 0, TIERS - 1)
        tier, gen = cols.tier, cols.gen
        for key, tiers in self._index.items():
            alive = [r.alive(gen) for r in tiers if r is not None]
            found = np.concatenate(alive) if alive else np.zeros(0, np.int32)
            found = found[np.argsort(tier[found], kind="stable")]
            bounds = np.searchsorted(tier[found], np.arange(TIERS + 2))
            fresh: _Tiers = [None] * (TIERS + 1)
            for t in range(TIERS + 1):
                lo, hi = int(bounds[t]), int(bounds[t + 1])
                if hi > lo:
                    part = found[lo:hi].copy()
                    fresh[t] = Rows(part, gen[part])
            self._index[key] = fresh

    # -- reads -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Active partners (the ones routing can find)."""
        return self._active

    def __iter__(self) -> Iterator[PartnerEntry]:
        """Active partners, in slot order."""
        return (e for e in self._slots if e is not None)

    def get(self, partner_id: str) -> PartnerEntry | None:
        """The partner's latest entry while active, else None."""
        entry = self._by_id.get(partner_id)
        return entry if entry is not None and entry.slot >= 0 else None

    def entry_at(self, slot: int) -> PartnerEntry:
        entry = self._slots[slot]
        assert entry is not None
        return entry

    def version_of(self, partner_id: str) -> int | None:
        """The latest version applied for the partner (active or not)."""
        entry = self._by_id.get(partner_id)
        return None if entry is None else entry.version

    @property
    def tier_width(self) -> float:
        return self._tier_width

    def postings(self, cap_bit_index: int, region: str, vendor: str | None = None) -> _Tiers | None:
        """The tiered rows of (capability bit index, region), or None; with ``vendor``
        (lowercase), of the holders of a verified certification of that vendor for it (valid
        or not). Read-only."""
        rid = self.region_id(region)
        if rid < 0 or cap_bit_index < 0:
            return None
        if vendor is not None:
            if vendor not in self._vendor_ids:
                return None
            return self._index.get(self._holder_key(cap_bit_index, vendor, rid))
        return self._index.get(cap_bit_index << 20 | rid)

    def dual(self, region: str) -> set[int]:
        """Slots of the partners serving ``region`` (a subdivision) and its whole country."""
        return self._dual.get(self.region_id(region), set())

    def holders(self, cap_bit: int, vendor: str) -> tuple[Any, Any]:
        """(slots, latest expiry) arrays of the holders of a ``vendor`` certification for the
        capability bit (valid or not). Read-only."""
        key = (cap_bit, vendor)
        arrays = self._holder_arrays.get(key)
        if arrays is None:
            held = self._holders.get(key, {})
            arrays = (
                np.fromiter(held.keys(), np.int64, len(held)),
                np.fromiter(held.values(), np.float64, len(held)),
            )
            self._holder_arrays[key] = arrays
        return arrays

    def naming(self, partner_id: str) -> tuple[set[str], set[str]]:
        """Ids of the partners listing ``partner_id`` as competitor, and as refused."""
        return (
            self._named_competitor.get(partner_id, set()),
            self._named_refused.get(partner_id, set()),
        )

    def cap_bit_index(self, code: str) -> int:
        return self._cap_bits.get(code, -1)

    def covering(self, needs: Iterable[str], region: str) -> list[PartnerEntry]:
        """Partners offering every need and serving ``region`` (or its country), any order."""
        needs = tuple(dict.fromkeys(needs))
        per_need = self._serving(needs, region)
        if len(per_need) != len(needs):
            return []
        mask = self.capability_mask(needs)
        found = [self.entry_at(slot) for slot in per_need[0].tolist()] if per_need else []
        return [e for e in found if e.caps & mask == mask]

    def _serving(self, needs: Iterable[str], region: str) -> list[Any]:
        """Per known need, the slots offering it and serving the region or its country."""
        regions = [region, region[:2]] if len(region) > 2 else [region]
        gen = self.columns.gen
        out: list[Any] = []
        for need in dict.fromkeys(needs):
            bit = self.cap_bit_index(need)
            if bit >= 0:
                tiers = [t for r in regions if (t := self.postings(bit, r))]
                found = [rows.alive(gen) for t in tiers for rows in t if rows is not None]
                out.append(np.unique(np.concatenate(found)) if found else np.zeros(0, np.int32))
        return out

    def partially_covering(
        self, needs: Iterable[str], region: str, *, covering: int | None = None
    ) -> int:
        """How many partners serving the region offer some of the needs but not all of them.

        ``covering``: how many offer all of them, when the caller already knows.
        """
        needs = tuple(dict.fromkeys(needs))
        if len(needs) < 2:
            return 0
        if covering is None:
            covering = len(self.covering(needs, region))
        regions = [region, region[:2]] if len(region) > 2 else [region]
        gen, marks = self.columns.gen, self.columns.marks
        found = [
            rows.alive(gen)
            for need in needs
            for r in regions
            for rows in self.postings(self.cap_bit_index(need), r) or ()
            if rows is not None and rows.n > rows.dead
        ]
        if not found:
            return 0
        slots = np.concatenate(found)
        marks[slots] = 1  # the scratch column is all zero between scans: count who is marked
        union = int(np.count_nonzero(marks))
        marks[slots] = 0
        return union - covering

    def memory_hint(self) -> dict[str, int]:
        """Counts that size the index (for the bench)."""
        rows = [r for tiers in self._index.values() for r in tiers if r is not None]
        return {
            "partners": self._active,
            "index_keys": len(self._index),
            "index_entries": sum(r.n - r.dead for r in rows),
            "index_array_bytes": sum(r.nbytes() for r in rows) + self.columns.nbytes(),
        }


def _bits(mask: int) -> Iterator[int]:
    """The indexes of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _stat_weights(w: Weights) -> tuple[float, ...]:
    """The weights the stats columns and tiers depend on."""
    return (
        w.fit,
        w.certification,
        w.acceptance,
        w.win,
        w.speed,
        w.load,
        w.prior,
        w.prior_strength,
        w.speed_half_life_s,
        w.unknown,
    )
