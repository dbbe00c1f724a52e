"""Conflict notices without an oracle (issue 17, item 6).

A partner could publish an opportunity for any customer domain, read the conflict notice (with the
first registration's time to the microsecond, matchable to offers it received) and withdraw it.
Now the notice carries the day only, a withdrawn probe's claim is released at once, and the API allows a
budget of distinct customer domains per partner and hour.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from connectors.http.conflict_checks import ConflictCheckBudget
from connectors.http.views import Views
from schemas.codec import decode, encode
from schemas.events import ConflictFlagged, OpportunityWithdrawn
from streams.offers.store import Pending
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.ranker import make_ranker
from streams.routing.directory import PartnerDirectory
from streams.scorecards.view import ScorecardBook
from tests.integration.bus_kit import opportunity, partner

NOW = 1_800_000_123.456789  # 2027-01-15T08:02:03.456789Z


def _router() -> Router:
    directory = PartnerDirectory()
    for p in (partner("storeco", ["storage"]), partner("bigco", ["storage"])):
        directory.apply(p)
    view = ScorecardBook()
    claims = ClaimRegistry(90 * 86_400.0, clock=lambda: NOW)
    return Router(make_ranker(lambda: directory, lambda: view), claims, ttl_s=60)


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _publish(router: Router, pending: Pending, who: str, oid: str, at: float) -> list:
    opp = opportunity(who, oid, customer={"company": "Acme", "domain": "https://www.acme.com/"},
                      published_at=_at(at))  # fmt: skip
    return router.on_opportunity(opp, encode(opp, source="t").value, pending, at)


def _conflicts(records: list) -> list[ConflictFlagged]:
    events = [decode(r.value, r.headers).event for r in records if r.topic == "referrals"]
    return [e for e in events if isinstance(e, ConflictFlagged)]


def _withdraw(router: Router, pending: Pending, who: str, oid: str, at: float) -> list:
    event = OpportunityWithdrawn(opportunity_id=oid, originator=who, withdrawn_at=_at(at))
    return router.on_withdrawn(event, pending, at)


def test_the_notice_carries_the_day_of_the_first_registration_only() -> None:
    router, pending = _router(), Pending({})
    _publish(router, pending, "owner", "real", NOW)
    notices = _conflicts(_publish(router, pending, "prober", "probe", NOW + 3600))
    # both originators are told (issue 18), each with the day of the first registration only
    assert {n.originator for n in notices} == {"prober", "owner"}
    assert {n.first_registered_at for n in notices} == {datetime(2027, 1, 15, tzinfo=UTC)}


def test_a_probe_withdrawn_within_minutes_leaves_no_claim() -> None:
    router, pending = _router(), Pending({})
    assert _conflicts(_publish(router, pending, "prober", "probe", NOW)) == []
    released = [r for r in _withdraw(router, pending, "prober", "probe", NOW + 120)
                if r.topic == "customer-claims"]  # fmt: skip
    assert [(r.key, orjson.loads(r.value)) for r in released] == [(b"acme.com|storage", [])]
    # the customer's real owner, later: no conflict, the probe is forgotten
    assert _conflicts(_publish(router, pending, "owner", "real", NOW + 600)) == []


def test_the_api_view_shows_the_day_only_even_for_old_events() -> None:
    views = Views()
    views.apply(
        ConflictFlagged(
            opportunity_id="o1", originator="p1", domain="acme.com", needs=("storage",),
            first_registered_at=_at(NOW), flagged_at=_at(NOW + 5),
        ),
        topic="referrals",
    )  # fmt: skip
    state = views.opportunity_of("p1", "o1")
    assert state is not None
    assert state.notices[0]["first_registered_at"] == "2027-01-15T00:00:00Z"


def test_the_budget_counts_distinct_domains_per_partner_and_hour() -> None:
    budget = ConflictCheckBudget(per_hour=3)
    assert [budget.take("prober", f"d{i}.com", 0.0) for i in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take("prober", "d0.com", 10.0) == 0.0  # the same customer again: free
    assert budget.take("prober", "d3.com", 10.0) == 3590.0
    assert budget.take("honest", "d3.com", 10.0) == 0.0  # another partner: its own budget
    assert budget.take("prober", "d3.com", 3600.0) == 0.0  # an hour later
    assert ConflictCheckBudget(per_hour=0).take("x", "y", 0.0) == 0.0
