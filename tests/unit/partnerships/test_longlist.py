"""The directory look-up over the routing core: listed, complementary, non-competing only."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.partner import PartnerProfile
from streams.partnerships.longlist import long_list, lookup_opportunity
from streams.routing import PartnerDirectory

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CAPS = ["storage", "backup", "networking", "security"]


def _profile(pid: str, caps: list[str], **over: object) -> PartnerProfile:
    fields: dict[str, object] = {
        "partner_id": pid,
        "name": pid.title(),
        "kind": "reseller",
        "capabilities": caps,
        "regions": ["DE"],
        "version": 1,
        "updated_at": NOW,
    }
    fields.update(over)
    return PartnerProfile.model_validate(fields)


profiles = st.lists(
    st.builds(
        lambda i, caps, listed, comp: _profile(
            f"p{i}", caps, listed=listed, competitors=("me",) if comp else ()
        ),
        st.integers(0, 30),
        st.lists(st.sampled_from(CAPS), min_size=1, max_size=3, unique=True),
        st.booleans(),
        st.booleans(),
    ),
    max_size=25,
    unique_by=lambda p: p.partner_id,
)


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_only_listed_complementary_non_competing_partners_are_long_listed(
    others: list[PartnerProfile],
) -> None:
    me = _profile("me", ["networking"], listed=False)
    directory = PartnerDirectory()
    for p in [me, *others]:
        directory.apply(p)
    found = long_list(
        lookup_opportunity("me", ("storage",), "DE", NOW), directory, [me, *others], now=NOW
    )
    by_id = {p.partner_id: p for p in others}
    expected = {
        p.partner_id
        for p in others
        if p.listed and "storage" in p.capabilities and "networking" not in p.capabilities
        and "me" not in p.competitors
    }  # fmt: skip
    assert {f.partner_id for f in found} == expected
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    for f in found:
        assert by_id[f.partner_id].listed
        assert abs(sum(r["contribution"] for r in f.reasons) - f.score) < 1e-4
        assert all("capacity" not in str(r["detail"]) for r in f.reasons)
