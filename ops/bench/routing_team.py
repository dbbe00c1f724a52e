"""The team part of ``oppbus bench routing``: planning a three-need team, exact, vs a linear scan.

Each generated opportunity asks for a team covering three different needs; it is planned by
``plan_opportunity_team`` over the columnar index (``route``) and, as the baseline in the same run,
over a linear scan of every partner (``route_linear``) for the first ``--team-linear`` of them. Both
must give the same team (roles, members, total score): any difference is an error.
"""

from __future__ import annotations

import time
from typing import Any

from ops.bench import routing_data as data
from streams.routing import PartnerDirectory, route, route_linear
from streams.routing.stats import StatsView
from streams.routing.team import NoTeam, TeamPlan
from streams.routing.team_route import plan_opportunity_team

__all__ = ["team_figures"]


def _plans(opps: list[Any], directory: PartnerDirectory, stats: StatsView, linear: bool) -> Any:
    ns: list[int] = []
    cpu_ns: list[int] = []
    plans: list[TeamPlan | NoTeam] = []
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    extra: dict[str, Any] = {"router": route_linear} if linear else {}
    for opp in opps:
        start, start_cpu = clock(), cpu()
        plans.append(plan_opportunity_team(opp, directory, stats, now=data.NOW, **extra))
        cpu_ns.append(cpu() - start_cpu)
        ns.append(clock() - start)
    ns.sort()
    cpu_ns.sort()
    return ns, cpu_ns, plans


def _pct(sorted_ns: list[int], q: float) -> float:
    return round(sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000, 1)


def _same(a: TeamPlan | NoTeam, b: TeamPlan | NoTeam) -> bool:
    if isinstance(a, NoTeam) or isinstance(b, NoTeam):
        return isinstance(a, NoTeam) and isinstance(b, NoTeam)
    roles = [(r.needs, r.member.partner_id) for r in a.roles]
    return roles == [(r.needs, r.member.partner_id) for r in b.roles] and a.total == b.total


def team_figures(
    directory: PartnerDirectory, stats: StatsView, size: int, n: int, n_linear: int
) -> dict[str, Any]:
    """``team3_*`` figures (the generated three-need opportunities, mostly covered by one partner)
    and ``split3_*`` (only those no single partner covers: teams of two or three)."""
    opps = data.team_opportunities(n * 10, size)
    split = [o for o in opps if not route(o, directory, stats, now=data.NOW).eligible][:n]
    figures = _figures(directory, stats, opps[:n], n_linear, f"n{size}_team3")
    if split:
        figures.update(_figures(directory, stats, split, n_linear, f"n{size}_split3"))
    return figures


def _figures(
    directory: PartnerDirectory, stats: StatsView, opps: list[Any], n_linear: int, key: str
) -> dict[str, Any]:
    _plans(opps[:20], directory, stats, False)  # warm-up
    ns, cpu_ns, plans = _plans(opps, directory, stats, False)
    n_linear = min(n_linear, len(opps))
    linear_ns, linear_cpu_ns, linear_plans = _plans(opps[:n_linear], directory, stats, True)
    for opp, a, b in zip(opps, plans, linear_plans, strict=False):
        if not _same(a, b):
            raise RuntimeError(f"{opp.opportunity_id}: the team differs from the linear scan's")
    planned = [p for p in plans if isinstance(p, TeamPlan)]
    several = [p for p in planned if p.size > 1]
    return {
        f"{key}_plans": len(opps),
        f"{key}_index_p50_us": _pct(ns, 0.50),
        f"{key}_index_p99_us": _pct(ns, 0.99),
        f"{key}_index_cpu_p50_us": _pct(cpu_ns, 0.50),
        f"{key}_index_cpu_p99_us": _pct(cpu_ns, 0.99),
        f"{key}_linear_plans": n_linear,
        f"{key}_linear_p50_us": _pct(linear_ns, 0.50),
        f"{key}_linear_p99_us": _pct(linear_ns, 0.99),
        f"{key}_linear_cpu_p50_us": _pct(linear_cpu_ns, 0.50),
        f"{key}_planned_pct": round(100.0 * len(planned) / len(opps), 1),
        f"{key}_mean_size": round(sum(p.size for p in planned) / max(1, len(planned)), 2),
        f"{key}_several_members_pct": round(100.0 * len(several) / len(opps), 1),
        f"{key}_same_as_linear": True,
    }
