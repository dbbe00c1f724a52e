"""``oppbus bench routing``: time to route one opportunity, indexed vs a linear scan, by size.

For each directory size (default 1k, 10k, 100k generated partners, see
:mod:`ops.bench.routing_data`) it builds the directory, routes the same generated opportunities
with :func:`streams.routing.route` (the columnar index, exact) and with
:func:`streams.routing.route_linear` (a plain scan of every partner, the baseline, in the same
run), and reports p50/p99 per opportunity of both (wall clock, and the thread's CPU time, which
other processes on a busy machine do not inflate; the load average is printed too), the
eligible/covering partners per opportunity, the ratio of the best scores of both
(``top_score_vs_exact``, 1.0: the same; any difference in the ranked candidates is an error),
the time to build the index from the updates (``build_s``, generating the profiles left out) and
to compute its stats columns (``stats_sync_s``, once per stats view), the index's memory for the
largest size (resident memory growth while it is built, per partner), one capability update
applied to the live index (``update_p99_us``), the process's resident memory with the largest
directory and its stats loaded, and how evenly equally fit partners share offers
(:mod:`ops.bench.routing_spread`). ``*_partnered_*``: the same opportunities routed again with
:data:`PARTNERS_EACH` active partnerships per originator (the ``partnership`` factor: those
partners are examined whatever their tier), checked against the linear scan the same way.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from ops.bench import routing_data as data
from ops.bench.routing_spread import busiest_share, update_latencies
from ops.bench.routing_team import team_figures
from ops.memory import peak_resident_bytes, resident_bytes
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
    "partners: the exact columnar index against a linear scan, its build, memory and updates; "
    "planning a three-need team (teaming) on the largest, against the same linear scan."
)

Router = Callable[..., RoutingDecision]
PARTNERS_EACH = 20  # active partnerships per originator in the *_partnered_* figures


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
    parser.add_argument(
        "--updates", type=int, default=2000, help="capability updates timed on the largest size"
    )
    parser.add_argument(
        "--teams", type=int, default=500, help="three-need teams planned on the largest size"
    )
    parser.add_argument(
        "--team-linear",
        type=int,
        default=10,
        help="of those, planned again over a linear scan (the baseline; slow)",
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
    partners: Mapping[str, frozenset[str]] | None = None,
) -> tuple[dict[str, float], list[RoutingDecision]]:
    ns: list[int] = []
    cpu_ns: list[int] = []
    decisions: list[RoutingDecision] = []
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    none: frozenset[str] = frozenset()
    for opp in opportunities:
        mine = partners.get(opp.originator, none) if partners is not None else none
        start, start_cpu = clock(), cpu()
        decision = router(
            opp, directory, stats, now=data.NOW, weights=DEFAULT_WEIGHTS, partners=mine
        )
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

    The ranked candidates must be the same, in the same order, with the same scores; a complete
    indexed decision (it examined every covering partner) must equal the scan's entirely.
    """
    ratios: list[float] = []
    for a, b in zip(indexed, linear, strict=True):
        if a.candidates != b.candidates or (a.complete and a != b):
            raise RuntimeError(f"{a.opportunity_key}: the index and the linear scan disagree")
        if b.routable:
            ratios.append(a.candidates[0].score / b.candidates[0].score)
    return round(sum(ratios) / len(ratios), 4) if ratios else 1.0


def _build(size: int, seed: int) -> tuple[PartnerDirectory, dict[str, Any]]:
    """Build the directory from generated updates; time and memory of the index only."""
    gc.collect()
    rss_before = resident_bytes()
    directory = PartnerDirectory()
    spent = cpu_spent = 0
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for profile in data.profiles(size, seed):
        start, start_cpu = clock(), cpu()
        directory.apply(profile)
        cpu_spent += cpu() - start_cpu
        spent += clock() - start
    gc.collect()
    grown = resident_bytes() - rss_before
    figures: dict[str, Any] = {
        "build_s": round(spent / 1e9, 2),
        "build_cpu_s": round(cpu_spent / 1e9, 2),
        "index_memory_mb": round(grown / 1e6, 1),
        "index_bytes_per_partner": round(grown / size),
    }
    figures.update(directory.memory_hint())
    return directory, figures


def _sync(directory: PartnerDirectory, stats: RoutingStats) -> float:
    start = time.perf_counter()
    directory.sync_stats(stats, DEFAULT_WEIGHTS)
    return round(time.perf_counter() - start, 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    largest = max(sizes)
    figures: dict[str, Any] = {
        "sizes": sizes,
        "opportunities": args.opportunities,
        "max_ranked": DEFAULT_WEIGHTS.max_ranked,
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    for size in sizes:
        _progress(f"{size} partners: building the directory")
        directory, built = _build(size, args.seed)
        stats = data.stats(size)
        key = f"n{size}"
        figures[f"{key}_stats_sync_s"] = _sync(directory, stats)
        opps = data.opportunities(args.opportunities, size)
        _progress(f"{size} partners: routing {len(opps)} opportunities through the index")
        _time(route, opps[:50], directory, stats)  # warm-up
        gc.collect()
        gc.freeze()  # as the worker does once loaded (streams.runtime.startup)
        indexed, decisions = _time(route, opps, directory, stats)
        n_linear = min(args.linear_opportunities, len(opps))
        _progress(f"{size} partners: routing {n_linear} opportunities by linear scan")
        linear, linear_decisions = _time(route_linear, opps[:n_linear], directory, stats)
        quality = _compare(decisions[:n_linear], linear_decisions)
        for name, value in indexed.items():
            figures[f"{key}_index_{name}"] = value
        for name, value in linear.items():
            figures[f"{key}_linear_{name}"] = value
        figures[f"{key}_speedup_p50"] = round(linear["p50_us"] / max(indexed["p50_us"], 0.1), 1)
        figures[f"{key}_speedup_cpu_p50"] = round(
            linear["cpu_p50_us"] / max(indexed["cpu_p50_us"], 0.1), 1
        )
        figures[f"{key}_covering_examined_mean"] = round(
            sum(d.covering for d in decisions) / len(opps), 1
        )
        figures[f"{key}_eligible_examined_mean"] = round(
            sum(d.eligible for d in decisions) / len(opps), 1
        )
        figures[f"{key}_covering_mean"] = round(
            sum(d.covering for d in linear_decisions) / n_linear, 1
        )
        figures[f"{key}_routable_pct"] = round(
            100.0 * sum(d.routable for d in decisions) / len(opps), 1
        )
        figures[f"{key}_complete_pct"] = round(
            100.0 * sum(d.complete for d in decisions) / len(opps), 1
        )
        figures[f"{key}_top_score_vs_exact"] = quality
        _progress(f"{size} partners: again with {PARTNERS_EACH} partnerships per originator")
        partners = data.active_partners(opps, size, PARTNERS_EACH)
        partnered, partnered_decisions = _time(route, opps, directory, stats, partners)
        _, partnered_linear = _time(route_linear, opps[:n_linear], directory, stats, partners)
        for name, value in partnered.items():
            figures[f"{key}_partnered_index_{name}"] = value
        figures[f"{key}_partnered_top_score_vs_exact"] = _compare(
            partnered_decisions[:n_linear], partnered_linear
        )
        figures[f"{key}_partnered_first_pct"] = round(
            100.0
            * sum(
                bool(d.candidates) and d.candidates[0].partner_id in partners[o.originator]
                for d, o in zip(partnered_decisions, opps, strict=True)
            )
            / len(opps),
            1,
        )
        for name in ("build_s", "build_cpu_s", "index_memory_mb", "index_bytes_per_partner"):
            figures[f"{key}_{name}"] = built[name]
        if size == largest:
            figures[f"{key}_index_entries"] = built["index_entries"]
            ns, cpu_ns = update_latencies(directory, stats, size, args.updates)
            ns.sort()
            cpu_ns.sort()
            figures["update_p50_us"] = _percentile(ns, 0.50)
            figures["update_p99_us"] = _percentile(ns, 0.99)
            figures["update_cpu_p50_us"] = _percentile(cpu_ns, 0.50)
            figures["update_cpu_p99_us"] = _percentile(cpu_ns, 0.99)
            figures[f"{key}_rss_mb"] = round(resident_bytes() / 1e6, 1)
            if args.teams > 0:
                _progress(f"{size} partners: planning {args.teams} three-need teams")
                figures.update(team_figures(directory, stats, size, args.teams, args.team_linear))
        gc.unfreeze()
        _progress(
            f"{size} partners: index p50 {indexed['p50_us']} us p99 {indexed['p99_us']} us "
            f"(cpu p99 {indexed['cpu_p99_us']} us); linear p50 {linear['p50_us']} us"
        )
        del directory, stats, decisions, linear_decisions, partnered_decisions
        gc.collect()
    figures["peak_rss_mb"] = round(peak_resident_bytes() / 1e6, 1)
    figures.update(busiest_share())
    figures["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    first, last = f"n{min(sizes)}", f"n{largest}"
    if len(sizes) > 1:
        figures["directory_growth"] = round(largest / min(sizes), 1)
        for name in ("index_p99_us", "index_cpu_p99_us", "linear_p99_us"):
            figures[f"{name.removesuffix('_us')}_growth"] = round(
                figures[f"{last}_{name}"] / max(figures[f"{first}_{name}"], 0.1), 1
            )
    return figures
