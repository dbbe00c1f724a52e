"""How ``oppbus bench routing`` measures load spreading and live index updates.

``busiest_share``: ``n`` partners with the same profile and no history (equally fit) and many
opportunities, each offered to its best partner; the share of the offers the busiest partner
receives (1/n is perfectly even). Measured twice: with the deterministic tie-break alone (stats
fixed), and with every offer counted as an open offer of its partner, so the load factor works
too. ``update_p99_us``: capability updates (a new version of an existing partner with other
capabilities and regions) applied to the live index, each with the index's stats sync.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta

from ops.bench import routing_data as data
from schemas.partner import PartnerProfile
from streams.routing import (
    DEFAULT_WEIGHTS,
    PartnerDirectory,
    PartnerStats,
    RoutingStats,
    StatsView,
    route,
)

__all__ = ["busiest_share", "update_latencies"]


class _Offers:
    """A stats view where each offer made is an open offer of its partner."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()
        self.log: list[str] = []

    def partner(self, partner_id: str) -> PartnerStats:
        return PartnerStats(open_offers=self.open[partner_id])

    def given(self, giver: str, receiver: str) -> int:
        return 0

    def peers(self, partner_id: str) -> Collection[str]:
        return ()

    def changes_since(self, revision: int) -> tuple[int, list[str]]:
        return len(self.log), self.log[revision:]

    def offer(self, partner_id: str) -> None:
        self.open[partner_id] += 1
        self.log.append(partner_id)


def busiest_share(n_partners: int = 100, n_offers: int = 3000) -> dict[str, float]:
    base = next(data.profiles(1, seed=3))
    directory = PartnerDirectory()
    for i in range(n_partners):
        directory.apply(
            base.model_copy(
                update={
                    "partner_id": f"equal{i:03d}",
                    "capacity": 1000,
                    "competitors": (),
                    "refuses": (),
                    "accepting": True,
                }
            )
        )
    template = data.opportunities(1, 10, seed=5)[0]
    opps = [
        template.model_copy(
            update={
                "opportunity_id": f"spread-{i}",
                "originator": "someone-else",
                "needs": base.capabilities[:1],
                "region": base.regions[0],
                "share_with": None,
                "requires_certification": (),
            }
        )
        for i in range(n_offers)
    ]
    one = replace(DEFAULT_WEIGHTS, max_ranked=1)
    figures: dict[str, float] = {"busiest_share_even": round(1 / n_partners, 4)}
    for name, stats in (("tiebreak", RoutingStats()), ("with_load", _Offers())):
        counts: Counter[str] = Counter()
        for opp in opps:
            best = route(opp, directory, stats, now=data.NOW, weights=one).partner_ids[0]
            counts[best] += 1
            if isinstance(stats, _Offers):
                stats.offer(best)
        figures[f"busiest_share_{name}"] = round(max(counts.values()) / n_offers, 4)
    return figures


def update_latencies(
    directory: PartnerDirectory, stats: StatsView, size: int, n: int = 2000, seed: int = 17
) -> tuple[list[int], list[int]]:
    """Nanoseconds per capability update (apply + the stats sync of the changed partner), wall
    clock and the thread's CPU time."""
    rng = random.Random(seed)
    fresh = list(data.profiles(n, seed=seed + 1))
    updates: list[PartnerProfile] = []
    for profile, index in zip(fresh, rng.sample(range(size), min(n, size)), strict=False):
        pid = f"p{index:06d}"
        version = (directory.version_of(pid) or 0) + 1
        updates.append(
            profile.model_copy(
                update={
                    "partner_id": pid,
                    "name": f"Partner {pid}",
                    "version": version,
                    "updated_at": data.NOW + timedelta(seconds=version),
                    "competitors": (),
                    "refuses": (),
                }
            )
        )
    ns: list[int] = []
    cpu_ns: list[int] = []
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for profile in updates:
        start, start_cpu = clock(), cpu()
        directory.apply(profile)
        directory.sync_stats(stats, DEFAULT_WEIGHTS)
        cpu_ns.append(cpu() - start_cpu)
        ns.append(clock() - start)
    return ns, cpu_ns
