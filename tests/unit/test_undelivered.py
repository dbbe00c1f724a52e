"""The undelivered-records watchdog's rule: which input partitions to read again, from where."""

from __future__ import annotations

from faust.types import TP

from streams.undelivered import undelivered

OPP0, OPP1, TAB0 = TP("b.opportunities", 0), TP("b.opportunities", 1), TP("b-state-changelog", 0)


def _watched(tp: TP) -> bool:
    return "changelog" not in tp.topic


def test_a_partition_consumed_to_its_end_with_nothing_delivered_reads_again_from_committed() -> (
    None
):
    found = undelivered(
        [OPP0], {OPP0: 2517}, {OPP0: None}, {OPP0: 484}, watched=_watched, queues_drained=True
    )
    assert found == {OPP0: (2517, 484)}


def test_a_position_past_the_last_delivered_offset_reads_again_after_it() -> None:
    found = undelivered(
        [OPP0, OPP1],
        {OPP0: 900, OPP1: 700},
        {OPP0: 499, OPP1: 699},
        {},
        watched=_watched,
        queues_drained=True,
    )
    assert found == {OPP0: (900, 500)}  # OPP1 delivered everything up to its position


def test_a_caught_up_or_untouched_partition_is_left_alone() -> None:
    positions = {OPP0: 484, OPP1: 0}
    read = {OPP0: None, OPP1: None}
    committed = {OPP0: 484, OPP1: None}
    assert (
        undelivered([OPP0, OPP1], positions, read, committed, watched=_watched, queues_drained=True)
        == {}
    )


def test_nothing_is_decided_without_a_committed_offset_or_while_queues_hold_records() -> None:
    assert (
        undelivered([OPP0], {OPP0: 90}, {OPP0: None}, {}, watched=_watched, queues_drained=True)
        == {}
    )
    assert (
        undelivered([OPP0], {OPP0: 90}, {OPP0: 10}, {}, watched=_watched, queues_drained=False)
        == {}
    )


def test_unwatched_topics_and_unknown_positions_are_skipped() -> None:
    assert (
        undelivered(
            [TAB0, OPP0],
            {TAB0: 50, OPP0: None},
            {TAB0: None, OPP0: 3},
            {TAB0: 0},
            watched=_watched,
            queues_drained=True,
        )
        == {}
    )


def test_right_after_a_seek_the_read_offset_is_the_next_to_read_so_it_is_read_again() -> None:
    # Sought to 480 (Faust's read offset = committed = 480), then the position jumped to 510.
    found = undelivered(
        [OPP0], {OPP0: 510}, {OPP0: 480}, {OPP0: 480}, watched=_watched, queues_drained=True
    )
    assert found == {OPP0: (510, 480)}  # 480 itself was never delivered
    # one record past the seek, nothing delivered: still caught
    found = undelivered(
        [OPP0], {OPP0: 481}, {OPP0: 480}, {OPP0: 480}, watched=_watched, queues_drained=True
    )
    assert found == {OPP0: (481, 480)}
