"""``oppbus bench routing``: time to route one opportunity, indexed vs a linear scan, by size.

For each directory size (default 1k, 10k, 100k generated partners, see
:mod:`ops.bench.routing_data`) it builds the directory, routes the same generated opportunities
with :func:`streams.routing.route` (the capability x region index) and with
:func:`streams.routing.route_linear` (a plain scan of every partner, the baseline), and reports
p50/p99 per opportunity of both (wall clock, and the thread's CPU time, which other processes on
a busy machine do not inflate; the load average is printed too), the eligible/covering partners per opportunity, how close the
pooled ranking's best score is to the exhaustive one's (``top_score_vs_exact``), and for the
largest size the memory the directory holds (tracemalloc, while it is built from the updates).
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from ops.bench import routing_data as data
from schemas.opportunity import Opportunity
from streams.routing import (
    DEFAULT_WEIGHTS,
    PartnerDirectory,
    RoutingDecision,
    RoutingStats,
    route,
    route_linear,
)

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Routing latency per opportunity (p50/p99) on generated directories of 1k/10k/100k "
    "partners: the capability x region index against a linear scan, and the index's memory."
)

Router = Callable[..., RoutingDecision]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="directory sizes, comma-separated"
    )
    parser.add_argument(
        "--opportunities", type=int, default=2000, help="opportunities timed per size (index)"
    )
    parser.add_argument(
        "--linear-opportunities",
        type=int,
        default=200,
        help="opportunities timed per size for the linear scan (it is slow)",
    )
    parser.add_argument("--seed", type=int, default=7)


def _progress(message: str) -> None:
    print(f"bench routing: {message}", file=sys.stderr, flush=True)


def _percentile(sorted_ns: list[int], q: float) -> float:
    index = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return round(sorted_ns[index] / 1000.0, 1)


def _time(
    router: Router,
    opportunities: list[Opportunity],
    directory: PartnerDirectory,
    stats: RoutingStats,
) -> tuple[dict[str, float], list[RoutingDecision]]:
    ns: list[int] = []
    cpu_ns: list[int] = []
    decisions: list[RoutingDecision] = []
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for opp in opportunities:
        start, start_cpu = clock(), cpu()
        decision = router(opp, directory, stats, now=data.NOW, weights=DEFAULT_WEIGHTS)
        cpu_ns.append(cpu() - start_cpu)
        ns.append(clock() - start)
        decisions.append(decision)
    ns.sort()
    cpu_ns.sort()
    figures = {
        "p50_us": _percentile(ns, 0.50),
        "p99_us": _percentile(ns, 0.99),
        "cpu_p50_us": _percentile(cpu_ns, 0.50),
        "cpu_p99_us": _percentile(cpu_ns, 0.99),
    }
    return figures, decisions


def _compare(indexed: list[RoutingDecision], linear: list[RoutingDecision]) -> float:
    """Check the index against the scan; the mean ratio of their best scores (1.0: the same).

    A complete indexed decision must equal the scan's; a pooled one (stopped after ``pool``
    eligible partners) must offer a subset of the eligible partners, and somebody whenever the
    scan finds somebody.
    """
    ratios: list[float] = []
    for a, b in zip(indexed, linear, strict=True):
        if a.complete and a != b:
            raise RuntimeError(f"{a.opportunity_key}: the index and the linear scan disagree")
        if a.routable != b.routable or a.eligible > b.eligible or a.covering > b.covering:
            raise RuntimeError(f"{a.opportunity_key}: the pooled decision is inconsistent")
        if b.routable:
            ratios.append(a.candidates[0].score / b.candidates[0].score)
    return round(sum(ratios) / len(ratios), 4) if ratios else 1.0


def _build(size: int, seed: int, *, measure: bool) -> tuple[PartnerDirectory, dict[str, Any]]:
    gc.collect()
    if measure:
        tracemalloc.start()
    start = time.perf_counter()
    directory = PartnerDirectory()
    for profile in data.profiles(size, seed):
        directory.apply(profile)
    figures: dict[str, Any] = {"build_s": round(time.perf_counter() - start, 2)}
    if measure:
        gc.collect()
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures["index_memory_mb"] = round(current / 1e6, 1)
        figures["index_bytes_per_partner"] = round(current / size)
        figures.update(directory.memory_hint())
    return directory, figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    largest = max(sizes)
    figures: dict[str, Any] = {
        "sizes": sizes,
        "opportunities": args.opportunities,
        "pool": DEFAULT_WEIGHTS.pool,
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    for size in sizes:
        _progress(f"{size} partners: building the directory")
        directory, built = _build(size, args.seed, measure=size == largest)
        stats = data.stats(size)
        opps = data.opportunities(args.opportunities, size)
        _progress(f"{size} partners: routing {len(opps)} opportunities through the index")
        _time(route, opps[:50], directory, stats)  # warm-up
        indexed, decisions = _time(route, opps, directory, stats)
        n_linear = min(args.linear_opportunities, len(opps))
        _progress(f"{size} partners: routing {n_linear} opportunities by linear scan")
        linear, linear_decisions = _time(route_linear, opps[:n_linear], directory, stats)
        quality = _compare(decisions[:n_linear], linear_decisions)
        key = f"n{size}"
        figures[f"{key}_index_p50_us"] = indexed["p50_us"]
        figures[f"{key}_index_p99_us"] = indexed["p99_us"]
        figures[f"{key}_index_cpu_p50_us"] = indexed["cpu_p50_us"]
        figures[f"{key}_index_cpu_p99_us"] = indexed["cpu_p99_us"]
        figures[f"{key}_linear_p50_us"] = linear["p50_us"]
        figures[f"{key}_linear_p99_us"] = linear["p99_us"]
        figures[f"{key}_linear_cpu_p50_us"] = linear["cpu_p50_us"]
        figures[f"{key}_linear_cpu_p99_us"] = linear["cpu_p99_us"]
        figures[f"{key}_speedup_p50"] = round(linear["p50_us"] / max(indexed["p50_us"], 0.1), 1)
        figures[f"{key}_covering_mean"] = round(sum(d.covering for d in decisions) / len(opps), 1)
        figures[f"{key}_eligible_mean"] = round(sum(d.eligible for d in decisions) / len(opps), 1)
        figures[f"{key}_routable_pct"] = round(
            100.0 * sum(d.routable for d in decisions) / len(opps), 1
        )
        figures[f"{key}_complete_pct"] = round(
            100.0 * sum(d.complete for d in decisions) / len(opps), 1
        )
        figures[f"{key}_top_score_vs_exact"] = quality
        figures[f"{key}_build_s"] = built["build_s"]
        if size == largest:
            for name in ("index_memory_mb", "index_bytes_per_partner", "index_entries"):
                figures[f"{key}_{name}"] = built[name]
        _progress(
            f"{size} partners: index p50 {indexed['p50_us']} us p99 {indexed['p99_us']} us; "
            f"linear p50 {linear['p50_us']} us p99 {linear['p99_us']} us"
        )
        del directory, stats
    figures["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    first, last = f"n{min(sizes)}", f"n{largest}"
    if len(sizes) > 1:
        figures["directory_growth"] = round(largest / min(sizes), 1)
        figures["index_p99_growth"] = round(
            figures[f"{last}_index_p99_us"] / max(figures[f"{first}_index_p99_us"], 0.1), 1
        )
        figures["linear_p99_growth"] = round(
            figures[f"{last}_linear_p99_us"] / max(figures[f"{first}_linear_p99_us"], 0.1), 1
        )
    return figures
