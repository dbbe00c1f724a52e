"""The scorecards forget closed referrals after the retention, in order, and rebuild after recovery."""

from __future__ import annotations

from aiokafka.partitioner import murmur2

from streams.scorecards.fold import RefState
from streams.scorecards.retention import ClosedRefs, fact_partition, is_closed


def _ref(status: str) -> RefState:
    return RefState(role="receiver", counterpart="netco", status=status, steps=((1, status),))  # type: ignore[arg-type]


def test_closed_referrals_are_due_one_retention_after_they_closed_in_order() -> None:
    closed = ClosedRefs(60.0)
    closed.closed(b"a/ref_1", 0, 100.0)
    closed.closed(b"b/ref_2", 3, 130.0)
    assert closed.due(159.9) == [] and len(closed) == 2
    assert closed.due(160.0) == [(0, b"a/ref_1")]
    assert closed.due(1000.0) == [(3, b"b/ref_2")] and len(closed) == 0


def test_only_closed_statuses_are_forgotten_and_a_rebuild_starts_over() -> None:
    assert all(is_closed(_ref(s)) for s in ("declined", "expired", "won", "lost", "withdrawn"))
    assert not is_closed(_ref("offered")) and not is_closed(_ref("accepted"))
    assert not is_closed(None) and not is_closed([1])
    closed = ClosedRefs(10.0)
    closed.closed(b"stale/ref_0", 1, 0.0)
    rows = [(b"p/ref_1", _ref("won")), (b"p/ref_2", _ref("offered")), (b"q/ref_3", _ref("lost"))]
    assert closed.rebuild(rows, 500.0, lambda key: len(key)) == 2
    assert closed.due(509.0) == []
    assert closed.due(510.0) == [(7, b"p/ref_1"), (7, b"q/ref_3")]


def test_the_tombstone_goes_to_the_partition_the_producer_put_the_partner_facts_on() -> None:
    for partner in (b"storeco", b"netco", b"soak-store-007"):
        expected = (murmur2(partner) & 0x7FFFFFFF) % 4
        assert fact_partition(partner + b"/ref_0123", 4) == expected
