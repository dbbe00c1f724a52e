"""The partner directory: the latest profile of every partner, indexed by capability x region.

Built from capability updates (``PartnerProfile`` events on the ``partners`` topic):

- last writer wins per partner by ``(version, updated_at)``; a stale, repeated or out-of-order update
  changes nothing and :meth:`PartnerDirectory.apply` returns ``False``;
- ``active=False`` removes the partner from routing (its version is kept, so an older update that
  arrives later cannot bring it back);
- certifications are kept with their expiry; whether one counts is decided at routing time against
  the event time ``now`` (:meth:`PartnerEntry.certified`).

The index maps (capability, region, shard) to the partners offering that capability and serving that
region, so the partners covering every need of an opportunity are the intersection, over the needs,
of the buckets for the opportunity's region and for its country (`US` covers `US-CA`; a partner
serving only `US-CA` is found neither for `US-NY` nor for plain `US`). Finding them costs in
proportion to them, not to the directory.

Shards: every partner belongs to one of :data:`SHARDS` shards by a hash of its id (content, not
history: a directory rebuilt from a compacted topic shards the same way). :meth:`covering` yields
the covering partners shard by shard, starting from a shard the caller picks (routing derives it
from the opportunity key), so the router can stop once it has examined enough of them, and its
decision depends only on the directory's content and the opportunity.

Memory is kept small: partners are small ints in short lists, capabilities bits of one int, region
codes and vendors interned.
"""

from __future__ import annotations

import bisect
import hashlib
import sys
from collections.abc import Collection, Iterable, Iterator

from schemas.partner import PartnerProfile

__all__ = ["SHARDS", "PartnerDirectory", "PartnerEntry"]

SHARDS = 64  # partitions of the directory by partner id hash (a power of two, at most 64)

_COVERING_CACHE_MAX = 4096  # distinct (needs, region) questions remembered between changes
_NO_IDS: frozenset[str] = frozenset()
_Shard = tuple[int, Collection["PartnerEntry"]]
_NEVER = float("inf")


def _id_hash(partner_id: str) -> int:
    """A stable 64-bit hash of a partner id (``hash()`` of a str changes between processes)."""
    return int.from_bytes(hashlib.blake2b(partner_id.encode(), digest_size=8).digest(), "big")


class PartnerEntry:
    """The compact routing view of one partner's latest profile."""

    __slots__ = (
        "accepting",
        "capacity",
        "caps",
        "certs",
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
        self.certs: tuple[tuple[int, str, float], ...] = tuple(
            (
                directory.capability_mask((c.capability,), create=True),
                sys.intern(c.vendor.lower()),
                c.expires_at.timestamp() if c.expires_at is not None else _NEVER,
            )
            for c in profile.certifications
        )
        self.accepting = profile.accepting
        self.capacity = profile.capacity
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
    def shard(self) -> int:
        return self.id_hash % SHARDS

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
        # (cap bit index << 20 | region id) -> per shard, the partners (None: none)
        self._index: dict[int, list[list[PartnerEntry] | None]] = {}
        # (needs, region) -> covering()'s non-empty shards; emptied by every index change
        self._covering: dict[tuple[tuple[str, ...], str], list[_Shard]] = {}
        # (cap bit mask, lowercased vendor) -> per shard, the partners holding such a certification
        self._certs: dict[tuple[int, str], list[list[PartnerEntry] | None]] = {}
        self._active = 0

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
        """The region ids a partner is indexed under: a subdivision of a country it serves
        whole is left out (the country's bucket finds it), so buckets never overlap."""
        country_of = self._country_of
        rest, rid = regions, 0
        while rest:
            if rest & 1:
                country = country_of[rid]
                if country < 0 or not regions >> country & 1:
                    yield rid
            rest >>= 1
            rid += 1

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

    def _keys(self, entry: PartnerEntry) -> Iterator[int]:
        caps, bit = entry.caps, 0
        while caps:
            if caps & 1:
                for rid in self._indexed_regions(entry.regions):
                    yield bit << 20 | rid
            caps >>= 1
            bit += 1

    def _index_entry(self, entry: PartnerEntry) -> None:
        self._covering.clear()
        shard = entry.shard
        for key in self._keys(entry):
            shards = self._index.get(key)
            if shards is None:
                shards = self._index[key] = [None] * SHARDS
            bucket = shards[shard]
            if bucket is None:
                shards[shard] = [entry]
            else:
                bucket.append(entry)
        for bit, vendor, _expires in entry.certs:
            holders = self._certs.get((bit, vendor))
            if holders is None:
                holders = self._certs[bit, vendor] = [None] * SHARDS
            held = holders[shard]
            if held is None:
                holders[shard] = [entry]
            elif entry not in held:  # two certifications of one vendor for one capability
                held.append(entry)
        self._active += 1

    def _unindex(self, entry: PartnerEntry) -> None:
        self._covering.clear()
        shard = entry.shard
        for key in self._keys(entry):
            shards = self._index[key]
            bucket = shards[shard]
            assert bucket is not None
            bucket.remove(entry)
            if not bucket:
                shards[shard] = None
        for bit, vendor, _expires in entry.certs:
            held = self._certs[bit, vendor][shard]
            if held is not None and entry in held:
                held.remove(entry)
                if not held:
                    self._certs[bit, vendor][shard] = None
        self._slots[entry.slot] = None
        self._free.append(entry.slot)
        entry.slot = -1
        self._active -= 1

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

    def version_of(self, partner_id: str) -> int | None:
        """The latest version applied for the partner (active or not)."""
        entry = self._by_id.get(partner_id)
        return None if entry is None else entry.version

    def certified_in(self, cap_bit: int, vendor: str, shard: int) -> Collection[PartnerEntry]:
        """Partners of ``shard`` holding a certification (valid or not) of ``vendor`` (lowercase)
        for the capability bit. Read-only."""
        holders = self._certs.get((cap_bit, vendor))
        held = holders[shard] if holders is not None else None
        return held if held is not None else ()

    def _need_arrays(
        self, needs: Iterable[str], region: str
    ) -> list[list[list[list[PartnerEntry] | None]]]:
        """Per need, the per-shard bucket arrays of the region and of its country."""
        region_ids = [self.region_id(region)]
        if len(region) > 2:
            region_ids.append(self.region_id(region[:2]))
        per_need: list[list[list[list[PartnerEntry] | None]]] = []
        for need in dict.fromkeys(needs):
            bit = self._cap_bits.get(need)
            keys = [] if bit is None else [bit << 20 | r for r in region_ids if r >= 0]
            per_need.append([self._index[k] for k in keys if k in self._index])
        return per_need

    def covering(
        self, needs: Iterable[str], region: str, *, start: int = 0, nonempty: bool = False
    ) -> Iterator[tuple[int, Collection[PartnerEntry]]]:
        """Partners offering every need and serving ``region`` (or its country), shard by shard.

        Yields ``(shard, partners)`` for every shard, from ``start`` (mod :data:`SHARDS`) on;
        ``nonempty``: only the shards where somebody covers (``route`` on a small directory would
        otherwise pay for 64 mostly empty shards per opportunity).
        The collections are read-only views of the index: do not modify them.
        """
        if not nonempty:
            yield from self._covering_scan(needs, region, start, nonempty=False)
            return
        key = (tuple(needs), region)
        found = self._covering.get(key)
        if found is None:
            if len(self._covering) >= _COVERING_CACHE_MAX:
                self._covering.clear()
            found = self._covering[key] = list(self._covering_scan(needs, region, 0, nonempty=True))
        first = bisect.bisect_left(found, start % SHARDS, key=lambda item: item[0])
        yield from found[first:]
        yield from found[:first]

    def _covering_scan(
        self, needs: Iterable[str], region: str, start: int, *, nonempty: bool
    ) -> Iterator[tuple[int, Collection[PartnerEntry]]]:
        per_need = self._need_arrays(needs, region)
        order = [(start + i) % SHARDS for i in range(SHARDS)]
        if len(per_need) == 1:  # the common case: the buckets of the region and of its country
            arrays = per_need[0]
            if len(arrays) == 1:  # the region is a country, or nobody serves its country whole
                shards_of = arrays[0]
                for shard in order:
                    bucket = shards_of[shard]
                    if bucket:
                        yield shard, bucket
                    elif not nonempty:
                        yield shard, ()
                return
            for shard in order:
                buckets = [b for shards in arrays if (b := shards[shard])]
                if len(buckets) > 1:
                    yield shard, [e for b in buckets for e in b]  # disjoint: no duplicates
                elif buckets:
                    yield shard, buckets[0]
                elif not nonempty:
                    yield shard, ()
            return
        mask = self.capability_mask(needs)
        for shard in order:
            # start from the need with the fewest partners in the shard, keep those offering all
            smallest: list[list[PartnerEntry]] = []
            size = -1
            for need_arrays in per_need:
                buckets = [b for shards in need_arrays if (b := shards[shard])]
                total = sum(map(len, buckets))
                if size < 0 or total < size:
                    smallest, size = buckets, total
                if not total:
                    break
            found = [e for b in smallest for e in b if e.caps & mask == mask] if size else []
            if found or not nonempty:
                yield shard, found

    def partially_covering(
        self, needs: Iterable[str], region: str, *, covering: int | None = None
    ) -> int:
        """How many partners serving the region offer some of the needs but not all of them.

        ``covering``: how many offer all of them, when the caller already knows.
        """
        per_need = self._need_arrays(needs, region)
        if len(per_need) < 2:
            return 0
        if covering is None:
            covering = sum(len(p) for _s, p in self.covering(needs, region))
        if len(per_need) == 2:  # |A u B| - |A n B| = |A| + |B| - 2 |A n B| (buckets are disjoint)
            sizes = sum(len(b) for arrays in per_need for shards in arrays for b in shards if b)
            return sizes - 2 * covering
        total = 0
        for shard in range(SHARDS):
            found: list[set[PartnerEntry]] = [
                set().union(*[b for shards in need_arrays if (b := shards[shard])])
                for need_arrays in per_need
            ]
            total += len(set().union(*found))
        return total - covering

    def memory_hint(self) -> dict[str, int]:
        """Counts that size the index (for the bench)."""
        return {
            "partners": self._active,
            "index_keys": len(self._index),
            "index_entries": sum(len(b) for a in self._index.values() for b in a if b),
        }
