"""Paging: following ``next`` visits every item once, in order, whatever the limit."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from connectors.http.errors import ApiError
from connectors.http.paging import DEFAULT_LIMIT, page


def _walk(items: list[tuple[float, str]], limit: int) -> list[tuple[float, str]]:
    seen: list[tuple[float, str]] = []
    cursor: str | None = None
    while True:
        query = f"limit={limit}" + (f"&next={cursor}" if cursor else "")
        chunk, cursor = page(make_mocked_request("GET", f"/x?{query}"), items, lambda i: i)
        assert len(chunk) <= limit
        seen.extend(chunk)
        if cursor is None:
            return seen


@given(
    st.lists(
        st.tuples(st.floats(0, 2e9, allow_nan=False), st.text(max_size=8)), unique=True, max_size=40
    ),
    st.integers(1, 7),
)
def test_following_next_visits_every_item_once_in_order(
    items: list[tuple[float, str]], limit: int
) -> None:
    assert _walk(items, limit) == sorted(items)


def test_the_default_limit_and_bad_parameters() -> None:
    items = [(float(i), "x") for i in range(DEFAULT_LIMIT + 1)]
    chunk, cursor = page(make_mocked_request("GET", "/x"), items, lambda i: i)
    assert len(chunk) == DEFAULT_LIMIT and cursor
    for query in ("limit=0", "limit=1001", "limit=-1", "next=%%%", "next=WzEsMl0"):
        with pytest.raises(ApiError) as err:
            page(make_mocked_request("GET", f"/x?{query}"), [("a", "b")], lambda i: i)
        assert err.value.status == 400
