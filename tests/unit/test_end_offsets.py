"""Real end offsets, the pure pieces: where to probe, how to group, what to trust."""

from __future__ import annotations

import struct

from aiokafka import TopicPartition
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faust.types import TP

from streams.runtime.end_offsets import (
    fetch_highwaters,
    fetch_plan,
    probe_offset,
    reconcile,
    records_end,
)


def _batch(base_offset: int, count: int) -> bytes:
    """A real v2 record batch of ``count`` records starting at ``base_offset``."""
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, batch_size=1 << 20)
    for delta in range(count):
        builder.append(delta, timestamp=None, key=b"k%d" % delta, value=b"v", headers=[])
    data = builder.build()
    struct.pack_into(">q", data, 0, base_offset)
    return bytes(data)


def test_probe_is_the_last_record_listoffsets_admits_to() -> None:
    assert probe_offset(0) == 0
    assert probe_offset(1) == 0
    assert probe_offset(601) == 600


def test_plan_groups_partitions_by_leader_and_sets_leaderless_apart() -> None:
    listed = {
        TopicPartition("a", 1): 10,
        TopicPartition("a", 0): 0,
        TopicPartition("b", 0): 5,
        TopicPartition("c", 0): 7,
    }
    leaders = {("a", 0): 1, ("a", 1): 1, ("b", 0): 2, ("c", 0): -1}
    plan, leaderless = fetch_plan(listed, lambda tp: leaders[(tp.topic, tp.partition)])
    assert plan == {1: [("a", [(0, 0), (1, 9)])], 2: [("b", [(0, 4)])]}
    assert leaderless == [TopicPartition("c", 0)]


def test_highwaters_skip_errors_and_unknown_marks() -> None:
    topics = [
        ("t", [(0, 0, 900, 900, 0, [], -1, b""), (1, 1, -1, -1, 0, [], -1, b"")]),
        ("u", [(0, 0, -1, b""), (1, 0, 12, b"")]),
    ]
    assert fetch_highwaters(topics) == {("t", 0): 900, ("u", 1): 12}


def test_reconcile_never_goes_below_listoffsets_and_keeps_the_callers_keys() -> None:
    listed = {TP("t", 0): 601, TP("t", 1): 50, TP("t", 2): 3}
    ends = reconcile(listed, {("t", 0): 900, ("t", 1): 40})
    assert ends == {TP("t", 0): 900, TP("t", 1): 50, TP("t", 2): 3}
    assert all(type(k) is TP for k in ends)


def test_the_end_is_read_from_the_records_when_the_high_watermark_lags_them() -> None:
    records = _batch(600, 3) + _batch(603, 2)  # offsets 600..604
    assert records_end([records]) == 605
    topics = [("t", [(0, 0, 601, 601, 0, [], -1, records), (1, 0, 900, 900, 0, [], -1, b"")])]
    assert fetch_highwaters(topics) == {("t", 0): 605, ("t", 1): 900}


def test_no_or_unreadable_records_give_no_end() -> None:
    assert records_end([]) == -1
    assert records_end([None]) == -1
    assert records_end([b""]) == -1
    assert records_end([_batch(10, 2)[:20]]) == -1  # a cut batch: the broker's partial tail
