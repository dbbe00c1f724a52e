"""The team planner: smallest team, best total among the smallest, every rule kept - against a
brute-force oracle on small directories, and exact however short the candidate lists it asks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.routing.team import NoTeam, Pick, RoleList, TeamPlan, partitions, plan_team

NEEDS = ("storage", "backup", "security", "cloud")


class World:
    """Partners with capabilities, a score per (partner, role) and pairs that will not team."""

    def __init__(
        self,
        caps: dict[str, frozenset[str]],
        scores: dict[str, float],
        conflicts: set[frozenset[str]],
    ) -> None:
        self.caps, self.scores, self.conflicts = caps, scores, conflicts
        self.asked: list[tuple[tuple[str, ...], int]] = []

    def score(self, pid: str, role: tuple[str, ...]) -> float:
        return round(self.scores[pid] * (1 + 0.1 * len(role)), 6)

    def eligible(self, role: tuple[str, ...], others: tuple[str, ...]) -> list[Pick]:
        picks = [
            Pick(pid, self.score(pid, role))
            for pid, caps in self.caps.items()
            if set(role) <= caps and not caps & set(others)
        ]
        return sorted(picks, key=lambda p: (-p.score, p.partner_id))

    def rank_role(self, role: tuple[str, ...], others: tuple[str, ...], depth: int) -> RoleList:
        self.asked.append((role, depth))
        picks = self.eligible(role, others)
        return RoleList(tuple(picks[:depth]), more=len(picks) > depth)

    def compatible(self, a: str, b: str) -> bool:
        return frozenset((a, b)) not in self.conflicts


def oracle(needs: Sequence[str], world: World) -> tuple[int, float] | None:
    """(size, best total) by trying every partition and every choice of members."""
    for size in range(1, len(needs) + 1):
        best = None
        for roles in partitions(needs, size):
            lists = [world.eligible(r, tuple(n for n in needs if n not in r)) for r in roles]
            for team in itertools.product(*lists):
                ids = [p.partner_id for p in team]
                if len(set(ids)) < len(ids):
                    continue
                if not all(world.compatible(a, b) for a, b in itertools.combinations(ids, 2)):
                    continue
                total = sum(p.score for p in team)
                best = total if best is None else max(best, total)
        if best is not None:
            return size, best
    return None


worlds = st.builds(
    lambda caps, scores, conflicts: World(
        {f"p{i}": frozenset(c) for i, c in enumerate(caps)},
        {f"p{i}": s for i, s in enumerate(scores)},
        {frozenset((f"p{a}", f"p{b}")) for a, b in conflicts if a != b},
    ),
    st.lists(st.sets(st.sampled_from(NEEDS), min_size=1, max_size=2), min_size=1, max_size=9),
    st.lists(st.floats(0, 1).map(lambda x: round(x, 3)), min_size=9, max_size=9),
    st.sets(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=8),
)


def valid(plan: TeamPlan, needs: Sequence[str], world: World) -> None:
    covered = [n for role in plan.roles for n in role.needs]
    assert sorted(covered) == sorted(needs)  # every need in exactly one role
    ids = [r.member.partner_id for r in plan.roles]
    assert len(set(ids)) == len(ids)
    for role in plan.roles:
        others = tuple(n for n in needs if n not in role.needs)
        assert role.member in world.eligible(role.needs, others)  # rules of its role
        for follower in role.waterfall:  # the waterfall keeps the team valid too
            assert all(
                world.compatible(follower.partner_id, o) for o in ids if o != role.member.partner_id
            )
    assert all(world.compatible(a, b) for a, b in itertools.combinations(ids, 2))


@settings(max_examples=300, deadline=None)
@given(
    worlds, st.lists(st.sampled_from(NEEDS), min_size=2, max_size=4, unique=True), st.integers(1, 4)
)
def test_the_plan_is_the_oracles_smallest_and_best_team(
    world: World, needs: list[str], depth: int
) -> None:
    plan = plan_team(needs, world.rank_role, world.compatible, depth=depth)
    expected = oracle(needs, world)
    if expected is None:
        assert isinstance(plan, NoTeam) and plan.reasons
        return
    assert isinstance(plan, TeamPlan)
    valid(plan, needs, world)
    size, total = expected
    assert plan.size == size  # no smaller valid team exists
    assert abs(plan.total - total) < 1e-6  # and none of that size scores more


def test_a_single_partner_covering_everything_is_a_team_of_one() -> None:
    world = World(
        {"all": frozenset(NEEDS[:3]), "s": frozenset({"storage"}), "b": frozenset({"backup"})},
        {"all": 0.1, "s": 0.9, "b": 0.9},
        set(),
    )
    plan = plan_team(NEEDS[:3], world.rank_role, world.compatible)
    assert isinstance(plan, TeamPlan) and plan.size == 1
    assert plan.roles[0].member.partner_id == "all"  # smallest first, whatever the scores


def test_members_never_offer_another_members_role_and_conflicts_split_teams() -> None:
    world = World(
        {
            "sb": frozenset({"storage", "backup"}),  # covers both: cannot be the storage member
            "s": frozenset({"storage"}),
            "b1": frozenset({"backup"}),
            "b2": frozenset({"backup"}),
        },
        {"sb": 0.2, "s": 0.5, "b1": 0.9, "b2": 0.4},
        {frozenset(("s", "b1"))},  # s and b1 list each other
    )
    plan = plan_team(("storage", "backup"), world.rank_role, world.compatible)
    assert isinstance(plan, TeamPlan) and plan.size == 1  # sb alone covers both
    world.caps["sb"] = frozenset({"storage", "backup", "security"})
    plan = plan_team(("storage", "backup", "security"), world.rank_role, world.compatible)
    assert isinstance(plan, TeamPlan) and [r.member.partner_id for r in plan.roles] == ["sb"]
    del world.caps["sb"]
    plan = plan_team(("storage", "backup"), world.rank_role, world.compatible)
    assert isinstance(plan, TeamPlan)
    assert {r.member.partner_id for r in plan.roles} == {"s", "b2"}  # b1 conflicts with s


def test_no_team_names_the_roles_nobody_can_fill() -> None:
    world = World({"s": frozenset({"storage"})}, {"s": 0.5}, set())
    plan = plan_team(("storage", "backup"), world.rank_role, world.compatible)
    assert isinstance(plan, NoTeam)
    assert plan.reasons["backup"] == "no eligible partner for this role"


def test_partitions_count_like_stirling_numbers() -> None:
    items = ("a", "b", "c", "d", "e")
    assert [sum(1 for _ in partitions(items, k)) for k in range(1, 6)] == [1, 15, 25, 10, 1]


def test_short_lists_are_deepened_only_when_an_unseen_candidate_could_win() -> None:
    caps = {f"s{i}": frozenset({"storage"}) for i in range(50)}
    scores = {f"s{i}": 1 - i / 100 for i in range(50)}
    world = World(caps, scores, set())
    plan = plan_team(("storage",), world.rank_role, world.compatible, depth=4)
    assert isinstance(plan, TeamPlan) and plan.roles[0].member.partner_id == "s0"
    assert world.asked == [(("storage",), 4)]  # the best was in the first four: asked once
