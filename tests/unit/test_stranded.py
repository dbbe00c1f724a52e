"""The stranded-partition watchdog's rule: which input partitions to give back to the fetcher."""

from __future__ import annotations

from faust.types import TP

from streams.runtime.stranded import stranded

OPP0, OPP1, LOG0 = TP("b.opportunities", 0), TP("b.opportunities", 1), TP("b-state-changelog", 0)


def _inputs(tp: TP) -> bool:
    return "changelog" not in tp.topic


def test_an_input_partition_out_of_the_active_set_is_stranded_once_the_queues_drained() -> None:
    found = stranded([OPP0, OPP1, LOG0], {OPP1}, set(), is_input=_inputs, queues_drained=True)
    assert found == {OPP0}


def test_nothing_is_stranded_while_a_queue_is_under_pressure() -> None:
    assert stranded([OPP0, OPP1], {OPP1}, set(), is_input=_inputs, queues_drained=False) == set()


def test_paused_partitions_and_changelogs_are_left_to_faust() -> None:
    assert stranded([OPP0, LOG0], set(), {OPP0}, is_input=_inputs, queues_drained=True) == set()
