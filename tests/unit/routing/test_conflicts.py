"""Conflicts: same customer (normalised domain) and need within the window, naming nobody."""

from __future__ import annotations

from datetime import datetime, timedelta

from streams.routing import Conflict, ConflictTable, conflict_keys, register

from .factories import T0, opportunity

DAY = timedelta(days=1)


def _day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _opp(originator: str, opp_id: str, domain: str, needs=("storage",), at=T0):
    return opportunity(
        originator,
        needs,
        opportunity_id=opp_id,
        customer={"company": "Acme", "domain": domain},
        published_at=at,
    )


def test_same_customer_and_need_within_window_is_a_conflict() -> None:
    table = ConflictTable(window_s=30 * 86_400)
    assert table.check(_opp("first", "o1", "https://www.Acme.com/")) == ()
    conflicts = table.check(_opp("second", "o2", "acme.com", at=T0 + 3 * DAY))
    # the other registration's day only, never its time: no timing oracle
    assert conflicts == (Conflict("acme.com", "storage", _day(T0)),)


def test_conflict_names_no_other_partner_or_opportunity() -> None:
    table = ConflictTable()
    table.check(_opp("first-partner", "secret-opp", "acme.com"))
    (conflict,) = table.check(_opp("second", "o2", "acme.com", at=T0 + DAY))
    assert "first-partner" not in repr(conflict) and "secret-opp" not in repr(conflict)


def test_other_need_or_other_customer_is_no_conflict() -> None:
    table = ConflictTable()
    table.check(_opp("first", "o1", "acme.com"))
    assert table.check(_opp("second", "o2", "acme.com", needs=("backup",))) == ()
    assert table.check(_opp("second", "o3", "globex.com")) == ()


def test_only_the_shared_need_conflicts() -> None:
    table = ConflictTable()
    table.check(_opp("first", "o1", "acme.com", needs=("storage",)))
    conflicts = table.check(_opp("second", "o2", "acme.com", needs=("backup", "storage")))
    assert [c.need for c in conflicts] == ["storage"]


def test_republishing_the_same_opportunity_is_not_a_conflict() -> None:
    table = ConflictTable()
    table.check(_opp("first", "o1", "acme.com"))
    assert table.check(_opp("first", "o1", "acme.com", at=T0 + DAY)) == ()


def test_after_the_window_the_need_registers_afresh() -> None:
    table = ConflictTable(window_s=7 * 86_400)
    table.check(_opp("first", "o1", "acme.com"))
    assert table.check(_opp("second", "o2", "acme.com", at=T0 + 8 * DAY)) == ()
    assert table.check(_opp("third", "o3", "acme.com", at=T0 + 9 * DAY))[0].registered_at == _day(
        T0 + 8 * DAY
    )


def test_expire_forgets_old_registrations() -> None:
    table = ConflictTable(window_s=86_400)
    table.check(_opp("first", "o1", "acme.com"))
    assert len(table) == 1
    assert table.expire(T0 + 2 * DAY) == 1 and len(table) == 0


def test_register_is_a_pure_step_over_stored_pairs() -> None:
    t0 = T0.timestamp()
    first, stored = register((), "a/o1", t0, window_s=100)
    assert first is None and stored == ((t0, "a/o1"),)
    first, stored2 = register(stored, "b/o2", t0 + 50, window_s=100)
    assert first == t0 and stored2 == stored
    first, stored3 = register(stored, "b/o2", t0 + 150, window_s=100)
    assert first is None and stored3 == ((t0 + 150, "b/o2"),)


def test_conflict_keys_use_the_normalised_domain() -> None:
    opp = _opp("first", "o1", "http://WWW.Acme.com/x", needs=("storage", "backup"))
    assert conflict_keys(opp) == ("acme.com|storage", "acme.com|backup")
