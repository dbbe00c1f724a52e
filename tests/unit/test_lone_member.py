"""The lone-member watchdog's rule: which input partitions a worker alone in its group must take."""

from __future__ import annotations

from types import SimpleNamespace

from streams.runtime.lone_member import group_members, unowned

INPUTS = {"b.opportunities": 2, "b.capabilities": 1}
ALL = {("b.opportunities", 0), ("b.opportunities", 1), ("b.capabilities", 0)}


def test_a_lone_member_owns_the_input_partitions_it_was_not_assigned() -> None:
    assigned = [("b.opportunities", 1), ("b.capabilities", 0), ("b-table-changelog", 0)]
    assert unowned(assigned, INPUTS, ["me"], "me") == {("b.opportunities", 0)}


def test_a_lone_member_with_every_input_partition_misses_nothing() -> None:
    assert unowned(sorted(ALL), INPUTS, ["me"], "me") == set()


def test_with_other_members_a_missing_partition_may_be_theirs() -> None:
    assert unowned([("b.opportunities", 1)], INPUTS, ["me", "peer"], "me") == set()


def test_a_group_this_worker_is_not_in_decides_nothing() -> None:
    assert unowned([], INPUTS, ["someone-else"], "me") == set()
    assert unowned([], INPUTS, [], "me") == set()
    assert unowned([], INPUTS, [""], "") == set()  # not joined yet: no member id


def _described(*groups: tuple[int, str, list[str]]) -> list[SimpleNamespace]:
    entries = [
        (code, gid, "Stable", "consumer", "faust", [(m, "", "", b"", b"") for m in members])
        for code, gid, members in groups
    ]
    return [SimpleNamespace(groups=entries)]


def test_members_are_read_from_describe_groups() -> None:
    answer = _described((0, "other", ["x"]), (0, "app", ["m1", "m2"]))
    assert group_members(answer, "app") == ["m1", "m2"]


def test_a_group_missing_or_in_error_has_no_member_list() -> None:
    assert group_members(_described((0, "other", ["x"])), "app") is None
    assert group_members(_described((16, "app", [])), "app") is None
