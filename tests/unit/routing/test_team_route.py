"""Teams over route(): every member passes every routing rule for its role, none offers another
member's role or the originator's retained capabilities, and members do not name each other."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.routing import route_linear
from streams.routing.team import NoTeam, TeamPlan, partitions
from streams.routing.team_route import plan_opportunity_team
from tests.unit.routing.factories import ORIGIN, T0, directory, opportunity, profile

NEEDS = ("storage", "backup", "cloud")


def test_a_storage_backup_cloud_project_gets_the_smallest_valid_team() -> None:
    d = directory(
        ORIGIN,  # networking + security: retained
        profile("st", ("storage",)),
        profile("bk", ("backup",)),
        profile("cl", ("cloud",)),
        profile("sbk", ("storage", "backup")),  # covers two roles at once
        profile("snet", ("storage", "backup", "cloud", "networking")),  # competes with origin
        profile("cl2", ("cloud",), competitors=("sbk",)),  # will not team with sb
    )
    plan = plan_opportunity_team(opportunity(needs=NEEDS), d, now=T0)
    assert isinstance(plan, TeamPlan) and plan.size == 2  # nobody covers all three validly
    members = {r.member.partner_id: r.needs for r in plan.roles}
    assert members == {"sbk": ("storage", "backup"), "cl": ("cloud",)}
    for role in plan.roles:
        assert role.member.detail.reasons  # the routing explanation travels with the plan


def test_one_partner_covering_every_need_is_a_team_of_one() -> None:
    d = directory(ORIGIN, profile("all", NEEDS), profile("st", ("storage",)))
    plan = plan_opportunity_team(opportunity(needs=NEEDS), d, now=T0)
    assert isinstance(plan, TeamPlan) and [r.member.partner_id for r in plan.roles] == ["all"]


def test_a_need_nobody_can_fill_is_named() -> None:
    d = directory(ORIGIN, profile("st", ("storage",)))
    plan = plan_opportunity_team(opportunity(needs=("storage", "backup")), d, now=T0)
    assert isinstance(plan, NoTeam) and "backup" in plan.reasons


CAPS = ("storage", "backup", "cloud", "networking")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sets(st.sampled_from(CAPS), min_size=1, max_size=2),
            st.sets(st.integers(0, 7), max_size=2),
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.sampled_from(NEEDS), min_size=2, max_size=3, unique=True),
)
def test_every_member_is_eligible_for_its_role_and_the_team_is_compatible(
    partners: list[tuple[set[str], set[int]]], needs: list[str]
) -> None:
    profiles = [
        profile(f"p{i}", tuple(sorted(caps)), competitors=tuple(f"p{j}" for j in rivals if j != i))
        for i, (caps, rivals) in enumerate(partners)
    ]
    d = directory(ORIGIN, *profiles)
    opp = opportunity(needs=tuple(needs))
    plan = plan_opportunity_team(opp, d, now=T0)
    if isinstance(plan, NoTeam):
        return
    ids = [r.member.partner_id for r in plan.roles]
    for role in plan.roles:
        others = set(needs) - set(role.needs)
        role_opp = opp.model_copy(
            update={
                "needs": role.needs,
                "retains": tuple(sorted({"networking", "security"} | others)),
            }
        )
        eligible = route_linear(role_opp, d, now=T0).partner_ids
        assert role.member.partner_id in eligible
    for a, b in itertools.combinations(ids, 2):
        ea, eb = d.get(a), d.get(b)
        assert ea is not None and eb is not None
        assert b not in ea.competitors and a not in eb.competitors


def _compatible(d, a: str, b: str) -> bool:
    ea, eb = d.get(a), d.get(b)
    assert ea is not None and eb is not None
    return b not in (ea.competitors | ea.refuses) and a not in (eb.competitors | eb.refuses)


def _replan_oracle(opp, d, needs: tuple[str, ...], kept: dict[str, tuple[str, ...]]) -> int | None:
    """The smallest team for ``needs`` beside the ``kept`` members, by brute force: every
    partition of the needs, every choice of eligible partners (route_linear per role)."""
    held = {n for roles in kept.values() for n in roles}
    for size in range(1, len(needs) + 1):
        for roles in partitions(needs, size):
            lists = []
            for role in roles:
                others = (set(needs) - set(role)) | held
                role_opp = opp.model_copy(
                    update={
                        "needs": role,
                        "retains": tuple(sorted({"networking", "security"} | others)),
                    }
                )
                lists.append(
                    [p for p in route_linear(role_opp, d, now=T0).partner_ids if p not in kept]
                )
            for pick in itertools.product(*lists):
                team = [*pick, *kept]
                if len(set(pick)) == len(pick) and all(
                    _compatible(d, a, b) for a, b in itertools.combinations(team, 2)
                ):
                    return size
    return None


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sets(st.sampled_from(CAPS), min_size=1, max_size=2),
            st.sets(st.integers(0, 7), max_size=2),
        ),
        min_size=2,
        max_size=8,
    ),
)
def test_a_replan_of_a_role_is_the_smallest_team_that_suits_the_members_kept(
    partners: list[tuple[set[str], set[int]]],
) -> None:
    """A role nobody accepted (``storage`` + ``backup``) is re-planned beside a member kept for
    ``cloud``: the new members are eligible for their roles (offering neither the kept role nor
    the originator's), suit the kept member, are not it, and no smaller such team exists."""
    profiles = [  # rival 7 is the member kept
        profile(
            f"p{i}",
            tuple(sorted(caps)),
            competitors=tuple("keeper" if j == 7 else f"p{j}" for j in rivals if j != i),
        )
        for i, (caps, rivals) in enumerate(partners)
    ]
    d = directory(ORIGIN, *profiles, profile("keeper", ("cloud",)))
    opp = opportunity(needs=NEEDS)
    kept = "keeper"
    plan = plan_opportunity_team(
        opp, d, now=T0, needs=("storage", "backup"), members=frozenset({kept})
    )
    expected = _replan_oracle(opp, d, ("storage", "backup"), {kept: ("cloud",)})
    if isinstance(plan, NoTeam):
        assert expected is None
        return
    assert plan.size == expected
    assert sorted(n for r in plan.roles for n in r.needs) == ["backup", "storage"]
    for role in plan.roles:
        member = role.member.partner_id
        assert member != kept and _compatible(d, member, kept)
        entry = d.get(member)
        assert entry is not None and "cloud" not in d.capability_codes(entry.caps)


def test_a_member_partnered_with_the_originator_gets_the_partnership_factor() -> None:
    """The same two storage partners: the one with an active partnership takes the role, and its
    explanation names the partnership (as a single offer's would)."""
    d = directory(
        ORIGIN,
        profile("st-a", ("storage",)),
        profile("st-b", ("storage",)),
        profile("bk", ("backup",)),
    )
    opp = opportunity(needs=("storage", "backup"))
    for partner in ("st-a", "st-b"):
        plan = plan_opportunity_team(opp, d, now=T0, partners=frozenset({partner}))
        assert isinstance(plan, TeamPlan)
        storage = next(r for r in plan.roles if r.needs == ("storage",))
        assert storage.member.partner_id == partner
        factors = {r.factor: r.value for r in storage.member.detail.reasons}
        assert factors["partnership"] == 1.0
