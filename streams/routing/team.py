"""Teaming: the smallest team of compatible partners that covers every need (pure, exact).

An opportunity with several needs may ask for a team (DESIGN.md "Teaming"). A *role* is a subset
of the needs; the team is a partition of the needs into roles, one member per role. Among the
smallest teams (fewest roles) the planner returns the one with the best total score; every member
satisfies every routing rule for its role, no two members list each other as competitor or
refused, and no member offers a capability that is another member's role (the ranker is asked for
a role's candidates *given* the other roles' needs, and must exclude whoever offers them).

The planner knows nothing of the directory: ``rank_role(needs, others, depth)`` returns a role's
eligible candidates best first (at most ``depth``, and whether more exist) and ``compatible(a, b)``
says whether two members may work together. The router adapts ``route()`` to these; tests use
small fakes and a brute-force oracle.

Exactness with short lists: a role's candidates are asked ``depth`` at a time. When a role's list
was cut, any candidate not seen scores at most the last one seen; if swapping that bound into the
best team found could beat it, the planner asks again with twice the depth. So the result is the
one a search over every eligible partner would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NoTeam",
    "Pick",
    "Role",
    "RoleList",
    "TeamPlan",
    "partitions",
    "plan_team",
]

MAX_TEAM_NEEDS = 8  # set partitions of 8 needs: 4,140; of 10: 115,975


@dataclass(frozen=True)
class Pick:
    """An eligible candidate of a role and its score for that role (``detail``: the ranker's own
    record of it, e.g. the routing candidate with its reasons; not compared)."""

    partner_id: str
    score: float
    detail: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RoleList:
    """A role's candidates, best first; ``more``: candidates beyond these exist."""

    picks: tuple[Pick, ...]
    more: bool = False


@dataclass(frozen=True)
class Role:
    """One role of the team: its needs, the member planned, and who follows in its waterfall."""

    needs: tuple[str, ...]
    member: Pick
    waterfall: tuple[Pick, ...]  # the next candidates, compatible with the other members


@dataclass(frozen=True)
class TeamPlan:
    roles: tuple[Role, ...]
    total: float

    @property
    def size(self) -> int:
        return len(self.roles)


@dataclass(frozen=True)
class NoTeam:
    """No team covers the needs; ``reasons`` per role tried (``"storage+backup": "no candidate"``)."""

    reasons: dict[str, str]


RankRole = Callable[[tuple[str, ...], tuple[str, ...], int], RoleList]
Compatible = Callable[[str, str], bool]


def partitions(items: Sequence[str], blocks: int) -> Iterator[tuple[tuple[str, ...], ...]]:
    """Every partition of ``items`` into exactly ``blocks`` non-empty blocks (canonical order)."""

    def extend(i: int, acc: list[list[str]]) -> Iterator[tuple[tuple[str, ...], ...]]:
        left = len(items) - i
        if len(acc) + left < blocks:
            return
        if i == len(items):
            if len(acc) == blocks:
                yield tuple(tuple(b) for b in acc)
            return
        item = items[i]
        for block in acc:
            block.append(item)
            yield from extend(i + 1, acc)
            block.pop()
        if len(acc) < blocks:
            acc.append([item])
            yield from extend(i + 1, acc)
            acc.pop()

    yield from extend(0, [])


def plan_team(
    needs: Sequence[str],
    rank_role: RankRole,
    compatible: Compatible,
    *,
    depth: int = 32,
) -> TeamPlan | NoTeam:
    """The smallest team covering ``needs``, best total score among the smallest (see module)."""
    needs = tuple(dict.fromkeys(needs))
    if not needs:
        return NoTeam({"": "no needs"})
    if len(needs) > MAX_TEAM_NEEDS:
        return NoTeam({"+".join(needs): f"more than {MAX_TEAM_NEEDS} needs"})
    lists = _Lists(needs, rank_role, depth)
    reasons: dict[str, str] = {}
    for size in range(1, len(needs) + 1):
        best = _best_of_size(needs, size, lists, compatible, reasons)
        if best is not None:
            return best
    return NoTeam(reasons)


class _Lists:
    """Role candidate lists, asked once per (role, depth) and deepened on demand."""

    def __init__(self, needs: tuple[str, ...], rank_role: RankRole, depth: int) -> None:
        self.needs = needs
        self.rank_role = rank_role
        self.depth = max(1, depth)
        self._got: dict[tuple[str, ...], tuple[RoleList, int]] = {}

    def get(self, role: tuple[str, ...], depth: int | None = None) -> RoleList:
        want = depth or self.depth
        have = self._got.get(role)
        if have is not None and (have[1] >= want or not have[0].more):
            return have[0]
        others = tuple(n for n in self.needs if n not in role)
        got = self.rank_role(role, others, want)
        self._got[role] = (got, want)
        return got

    def deepen(self, role: tuple[str, ...]) -> RoleList:
        return self.get(role, self._got[role][1] * 2)


def _best_of_size(
    needs: tuple[str, ...],
    size: int,
    lists: _Lists,
    compatible: Compatible,
    reasons: dict[str, str],
) -> TeamPlan | None:
    best: tuple[float, tuple[int, ...], int] | None = None
    best_plan: TeamPlan | None = None
    for index, roles in enumerate(partitions(needs, size)):
        while True:
            role_lists = [lists.get(role) for role in roles]
            empty = [r for r, rl in zip(roles, role_lists, strict=True) if not rl.picks]
            if empty:
                for role in empty:
                    reasons["+".join(role)] = "no eligible partner for this role"
                break
            found = _assign(role_lists, compatible)
            cut = _cut_role_that_could_win(roles, role_lists, found)
            if cut is None:
                break
            lists.deepen(cut)
        if empty:
            continue
        if found is None:
            reasons[" | ".join("+".join(r) for r in roles)] = "no compatible members"
            continue
        total, ranks = found
        key = (-total, ranks, index)
        if best is None or key < best:
            best = key
            best_plan = _plan(roles, role_lists, ranks, compatible, total)
    return best_plan


def _assign(
    role_lists: Sequence[RoleList], compatible: Compatible
) -> tuple[float, tuple[int, ...]] | None:
    """The best compatible choice of one candidate per role: (total, rank of each choice).

    Branch and bound over the roles, each role's candidates best first; ties on the total keep
    the choice found first (better ranks in role order), so the result is deterministic.
    """
    order = sorted(range(len(role_lists)), key=lambda i: len(role_lists[i].picks))
    tops = [role_lists[i].picks[0].score for i in order]
    bound_after = [sum(tops[j:]) for j in range(len(order) + 1)]
    best_total: float | None = None
    best_ranks: tuple[int, ...] | None = None
    chosen: list[int] = [0] * len(role_lists)
    members: list[str] = []

    def search(depth: int, total: float) -> None:
        nonlocal best_total, best_ranks
        if depth == len(order):
            ranks = tuple(chosen)
            if (
                best_total is None
                or total > best_total
                or (total == best_total and best_ranks is not None and ranks < best_ranks)
            ):
                best_total, best_ranks = total, ranks
            return
        role = order[depth]
        for rank, pick in enumerate(role_lists[role].picks):
            if best_total is not None and total + pick.score + bound_after[depth + 1] < best_total:
                break  # the picks only get worse from here
            if pick.partner_id in members or not all(
                compatible(pick.partner_id, m) for m in members
            ):
                continue
            chosen[role] = rank
            members.append(pick.partner_id)
            search(depth + 1, total + pick.score)
            members.pop()

    search(0, 0.0)
    if best_total is None or best_ranks is None:
        return None
    return best_total, best_ranks


def _cut_role_that_could_win(
    roles: Sequence[tuple[str, ...]],
    role_lists: Sequence[RoleList],
    found: tuple[float, tuple[int, ...]] | None,
) -> tuple[str, ...] | None:
    """A role whose unseen candidates could still make a better (or any) team, else None."""
    tops = [rl.picks[0].score for rl in role_lists]
    for i, rl in enumerate(role_lists):
        if not rl.more:
            continue
        if found is None:
            return roles[i]  # nothing compatible among those seen: look further
        # an unseen candidate scores at most the last seen; with the others at their best:
        ceiling = sum(tops) - tops[i] + rl.picks[-1].score
        if ceiling >= found[0]:
            return roles[i]
    return None


def _plan(
    roles: Sequence[tuple[str, ...]],
    role_lists: Sequence[RoleList],
    ranks: tuple[int, ...],
    compatible: Compatible,
    total: float,
) -> TeamPlan:
    members = [rl.picks[r] for rl, r in zip(role_lists, ranks, strict=True)]
    planned = []
    for i, (role, rl) in enumerate(zip(roles, role_lists, strict=True)):
        others = [m.partner_id for j, m in enumerate(members) if j != i]
        waterfall = tuple(
            p
            for p in rl.picks
            if p != members[i]
            and p.partner_id not in others
            and all(compatible(p.partner_id, o) for o in others)
        )
        planned.append(Role(role, members[i], waterfall))
    return TeamPlan(tuple(planned), round(total, 6))
