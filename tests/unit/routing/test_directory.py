"""The partner directory: last writer wins, deactivation, and the capability x region index."""

from __future__ import annotations

from datetime import timedelta

from streams.routing import PartnerDirectory

from .factories import T0, profile


def _found(d: PartnerDirectory, needs: tuple[str, ...], region: str) -> set[str]:
    return {e.partner_id for e in d.covering(needs, region)}


def test_newer_version_replaces_the_profile() -> None:
    d = PartnerDirectory()
    assert d.apply(profile("pa", ("storage",), version=1))
    assert d.apply(profile("pa", ("backup",), version=2))
    assert _found(d, ("storage",), "US") == set()
    assert _found(d, ("backup",), "US") == {"pa"}
    assert len(d) == 1


def test_stale_update_is_ignored_and_reports_no_change() -> None:
    d = PartnerDirectory()
    d.apply(profile("pa", ("backup",), version=5))
    assert not d.apply(profile("pa", ("storage",), version=4))
    assert _found(d, ("backup",), "US") == {"pa"}
    assert d.version_of("pa") == 5


def test_repeated_update_is_idempotent() -> None:
    d = PartnerDirectory()
    assert d.apply(profile("pa"))
    assert not d.apply(profile("pa"))
    assert len(d) == 1


def test_same_version_later_updated_at_wins() -> None:
    d = PartnerDirectory()
    d.apply(profile("pa", ("storage",), version=3))
    assert d.apply(profile("pa", ("backup",), version=3, updated_at=T0 + timedelta(seconds=1)))
    assert not d.apply(profile("pa", ("storage",), version=3, updated_at=T0 - timedelta(seconds=1)))
    assert _found(d, ("backup",), "US") == {"pa"}


def test_deactivation_removes_from_routing_and_blocks_older_updates() -> None:
    d = PartnerDirectory()
    d.apply(profile("pa", version=1))
    assert d.apply(profile("pa", version=2, active=False))
    assert _found(d, ("storage",), "US") == set() and len(d) == 0 and d.get("pa") is None
    assert not d.apply(profile("pa", version=1))
    assert _found(d, ("storage",), "US") == set()
    assert d.apply(profile("pa", version=3))
    assert _found(d, ("storage",), "US") == {"pa"}


def test_slots_are_reused_after_deactivation() -> None:
    d = PartnerDirectory()
    d.apply(profile("pa"))
    d.apply(profile("pa", version=2, active=False))
    d.apply(profile("pb"))
    assert d.get("pb") is not None and d.get("pb").slot == 0


def test_country_partner_is_found_for_its_subdivisions_only() -> None:
    d = PartnerDirectory()
    d.apply(profile("us", regions=("US",)))
    d.apply(profile("ca", regions=("US-CA",)))
    d.apply(profile("de", regions=("DE",)))
    assert _found(d, ("storage",), "US-CA") == {"us", "ca"}
    assert _found(d, ("storage",), "US-NY") == {"us"}
    assert _found(d, ("storage",), "US") == {"us"}
    assert _found(d, ("storage",), "DE-BY") == {"de"}
    assert _found(d, ("storage",), "FR") == set()


def test_every_need_must_be_offered() -> None:
    d = PartnerDirectory()
    d.apply(profile("sb", ("storage", "backup"), regions=("US",)))
    d.apply(profile("ss", ("storage",), regions=("US-CA",)))
    d.apply(profile("bb", ("backup",), regions=("US-CA",)))
    assert _found(d, ("storage", "backup"), "US-CA") == {"sb"}
    assert d.partially_covering(("storage", "backup"), "US-CA") == 2  # only some of the needs


def test_partner_serving_country_and_subdivision_is_found_once() -> None:
    d = PartnerDirectory()
    d.apply(profile("pa", regions=("US", "US-CA")))
    found = [e.partner_id for e in d.covering(("storage",), "US-CA")]
    assert found == ["pa"]
    assert d.dual("US-CA") == {d.get("pa").slot}  # serves US-CA itself: region factor 1


def test_unknown_capability_and_region_find_nobody() -> None:
    d = PartnerDirectory()
    d.apply(profile("pa"))
    assert _found(d, ("iot",), "US") == set()
    assert _found(d, ("storage",), "JP-13") == set()


def test_covering_follows_changes_and_purges_dead_rows() -> None:
    d = PartnerDirectory()
    for i in range(40):
        d.apply(profile(f"p{i}", ("storage",), regions=("US",) if i % 2 else ("US-CA",)))
    assert len(_found(d, ("storage",), "US-CA")) == 40
    d.apply(profile("late", ("storage",), regions=("US",)))
    assert "late" in _found(d, ("storage",), "US-CA")
    for i in range(40):  # every partner moves away: their rows die and are purged
        d.apply(profile(f"p{i}", ("backup",), regions=("US",), version=2))
    assert _found(d, ("storage",), "US-CA") == {"late"}
    hint = d.memory_hint()
    assert hint["partners"] == 41 and hint["index_entries"] == 41
