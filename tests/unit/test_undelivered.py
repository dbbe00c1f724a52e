"""The undelivered-records watchdog's rule: which input partitions to read again, from where."""

from __future__ import annotations

from faust.types import TP

from streams.runtime.undelivered import undelivered

OPP0, OPP1, TAB0 = TP("b.opportunities", 0), TP("b.opportunities", 1), TP("b-state-changelog", 0)


def _watched(tp: TP) -> bool:
    return "changelog" not in tp.topic


def test_a_partition_consumed_past_its_committed_offset_with_nothing_pending_reads_again() -> None:
    # the fault suite's figures: at the end of the partition, committed 484, nothing in flight
    found = undelivered(
        [OPP0, OPP1],
        {OPP0: 2517, OPP1: 2483},
        {OPP0: 484, OPP1: 2483},
        set(),
        watched=_watched,
        queues_drained=True,
    )
    assert found == {OPP0: (2517, 484)}  # OPP1 is committed up to its position


def test_a_partition_with_anything_pending_is_left_to_the_streams_and_the_commits() -> None:
    # a message in flight, an acknowledged offset awaiting its commit, or a rewind under way
    found = undelivered(
        [OPP0], {OPP0: 900}, {OPP0: 500}, {OPP0}, watched=_watched, queues_drained=True
    )
    assert found == {}


def test_nothing_is_decided_while_queues_hold_records_or_without_figures() -> None:
    figures = ({OPP0: 90}, {OPP0: 10})
    assert undelivered([OPP0], *figures, set(), watched=_watched, queues_drained=False) == {}
    assert (
        undelivered([OPP0], {OPP0: None}, {OPP0: 10}, set(), watched=_watched, queues_drained=True)
        == {}
    )
    assert (
        undelivered([OPP0], {OPP0: 90}, {OPP0: None}, set(), watched=_watched, queues_drained=True)
        == {}
    )


def test_unwatched_topics_and_partitions_sought_back_below_their_commit_are_skipped() -> None:
    found = undelivered(
        [TAB0, OPP0],
        {TAB0: 50, OPP0: 480},
        {TAB0: 0, OPP0: 500},  # OPP0 sought back: at or below its committed offset is fine
        set(),
        watched=_watched,
        queues_drained=True,
    )
    assert found == {}
