"""The pace of Faust's fetches (streams.runtime.app.next_fetch_at, row "paced fetching")."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.runtime.app import next_fetch_at


def test_after_records_the_next_fetch_waits_a_fetch_wait_from_the_start_of_this_one() -> None:
    assert next_fetch_at(100.0, 3, 500, 0.25) == 100.25
    assert next_fetch_at(100.0, 3, None, 0.01) == 100.01  # no max_poll_records: never "full"


def test_an_empty_or_a_full_fetch_lets_the_next_go_at_once() -> None:
    assert next_fetch_at(100.0, 0, 500, 0.25) == 0.0  # it already waited at the broker
    assert next_fetch_at(100.0, 500, 500, 0.25) == 0.0  # more is waiting: no pause in a backlog


@given(
    started=st.floats(0, 1e6),
    count=st.integers(0, 10_000),
    limit=st.one_of(st.none(), st.integers(1, 10_000)),
    wait_s=st.floats(0, 10),
)
def test_never_later_than_one_fetch_wait(
    started: float, count: int, limit: int | None, wait_s: float
) -> None:
    at = next_fetch_at(started, count, limit, wait_s)
    assert at == 0.0 or at == started + wait_s
