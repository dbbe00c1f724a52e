"""What each party of a team sees through the API's views, fed the router's own events: the
originator the team and its roles; a member its role, then the prime once it accepted, then the
others only once the team is assembled; nobody else anything."""

from __future__ import annotations

from typing import Any

from connectors.http.standing import opportunity_view
from connectors.http.views import Views
from schemas.codec import decode, encode
from schemas.opportunity import Contact
from schemas.teams import LeadAssembled
from streams.offers.store import Pending
from tests.integration.bus_kit import opportunity, partner
from tests.unit.test_router_teams import (
    NEEDS,
    NOW,
    _accept,
    _decline,
    _router,
    _second,
)


class _Bus:
    """The router and the read model, wired by hand: every record the router publishes is
    applied to the views, as the API's read model does."""

    def __init__(self) -> None:
        self.router, self.table, self.views = _router(), {}, Views()
        contact = Contact(name="Nora Net", email="nora@netco.example")
        self.views.apply(partner("netco", ["networking"], contact=contact), topic="partners")
        for pid in ("storeco", "secco", "secco2", "stor2", "bakco"):
            self.views.apply(partner(pid, ["storage"]), topic="partners")
        opp = opportunity("netco", "t1", NEEDS, team=True)
        self.views.apply(opp, topic="opportunities")
        pending = Pending(self.table)
        self.apply(self.router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW))
        self.table.update(pending.drain())

    def apply(self, records: list[Any]) -> list[Any]:
        events = [decode(r.value, r.headers).event for r in records if r.topic == "referrals"]
        for event in events:
            self.views.apply(event, topic="referrals")
        return events

    def respond(self, cmd: Any, t: float) -> list[Any]:
        pending = Pending(self.table)
        events = self.apply(self.router.on_response(cmd, pending, NOW + t))
        self.table.update(pending.drain())
        return events

    def lead(self, pid: str) -> dict[str, Any] | None:
        leads = self.views.leads_of(pid)
        return leads[-1].as_lead() if leads else None

    def team(self) -> dict[str, Any]:
        state = self.views.opportunity_of("netco", "t1")
        assert state is not None
        return opportunity_view(state, self.views)["team"]


def test_the_originator_follows_the_team_and_each_role() -> None:
    bus = _Bus()
    first = _first_security_of(bus)
    assert bus.team() == {
        "status": "assembling",
        "roles": [
            {"needs": ["storage", "backup"], "status": "offered"},
            {"needs": ["security"], "status": "offered"},
        ],
    }
    bus.respond(_accept("storeco", NOW + 1), 1)
    roles = bus.team()["roles"]
    assert roles[0] == {
        "needs": ["storage", "backup"],
        "status": "accepted",
        "partner_id": "storeco",
    }
    bus.respond(_decline(first, NOW + 2), 2)
    assert bus.team()["roles"][1]["status"] == "offered"  # down its waterfall
    bus.respond(_accept(_second(first), NOW + 3), 3)
    assert bus.team()["status"] == "assembled"
    assert bus.team()["roles"][1]["partner_id"] == _second(first)


def test_a_member_learns_the_prime_on_accepting_and_the_others_only_once_assembled() -> None:
    bus = _Bus()
    first = _first_security_of(bus)
    offered = bus.lead("storeco")
    assert offered is not None and offered["team"] == {"role": ["storage", "backup"], "size": 2}
    assert "customer" not in offered
    bus.respond(_accept("storeco", NOW + 1), 1)
    accepted = bus.lead("storeco")
    assert accepted is not None and accepted["customer"]["company"] == "Customer of t1"
    assert accepted["team"]["prime"] == {
        "partner_id": "netco",
        "name": "Netco",
        "contact": {"name": "Nora Net", "email": "nora@netco.example", "phone": None, "role": None},
    }
    assert "members" not in accepted["team"]  # before assembly: nothing of the others
    other = bus.lead(first)  # the other member, still offered: no customer, no prime, nobody
    assert other is not None and "customer" not in other
    assert set(other["team"]) == {"role", "size"}
    bus.respond(_accept(first, NOW + 2), 2)
    assembled = bus.lead("storeco")
    assert assembled is not None
    assert assembled["team"]["members"] == [
        {"partner_id": first, "name": first.title(), "needs": ["security"]}
    ]
    theirs = bus.lead(first)
    assert theirs is not None
    assert [m["partner_id"] for m in theirs["team"]["members"]] == ["storeco"]


def test_a_partner_outside_the_team_sees_nothing_and_a_misaddressed_notice_is_ignored() -> None:
    bus = _Bus()
    first = _first_security_of(bus)
    assert bus.lead("bakco") is None and bus.lead("stor2") is None
    # a lead.assembled naming another partner than the referral's holder changes nothing
    forged = LeadAssembled(
        referral_id=bus.views.leads_of("storeco")[0].referral_id,
        opportunity_id="t1",
        originator="netco",
        partner_id="bakco",
        role=("storage",),
        members=(),
        assembled_at=bus.views.leads_of("storeco")[0].offer.offered_at,
    )
    assert bus.views.apply(forged, topic="referrals") == []
    lead = bus.lead("storeco")
    assert lead is not None and "members" not in lead["team"]
    del first


def test_an_incomplete_team_says_why_per_role() -> None:
    bus = _Bus()
    first = _first_security_of(bus)
    bus.respond(_decline(first, NOW + 1), 1)
    bus.respond(_decline(_second(first), NOW + 2), 2)
    team = bus.team()
    assert team["status"] == "incomplete"
    (security,) = [r for r in team["roles"] if r["needs"] == ["security"]]
    assert security["status"] == "unfilled" and "nobody accepted" in security["reason"]


def _first_security_of(bus: _Bus) -> str:
    state = bus.views.opportunity_of("netco", "t1")
    assert state is not None and state.team is not None
    (role,) = [r for r in state.team.roles if r["needs"] == ("security",)]
    return bus.views.referrals[role["referrals"][0]].partner_id


def test_replayed_team_events_change_nothing_in_the_views() -> None:
    bus = _Bus()
    first = _first_security_of(bus)
    bus.respond(_decline("storeco", NOW + 1), 1)  # re-planned: storage and backup
    before = bus.team()
    table = dict(bus.table)  # the row as stored
    opp = opportunity("netco", "t1", NEEDS, team=True)
    pending = Pending(table)
    bus.apply(bus.router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW + 5))
    assert bus.team() == before  # the first plan replayed does not bring the split role back
    assert {tuple(r["needs"]) for r in before["roles"]} == {
        ("security",),
        ("storage",),
        ("backup",),
    }
    assert before["status"] == "assembling" and first
