"""Team opportunities through the router's handlers (no broker): plan, waterfall per role, one
re-plan, incomplete, assembled, and what each member is told."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.codec import decode, encode
from schemas.events import (
    AcceptReferral,
    DeclineReferral,
    LeadAssembled,
    OfferMade,
    OpportunityUnroutable,
    TeamAssembled,
    TeamIncomplete,
    TeamPlanned,
)
from schemas.ids import referral_id
from streams.offers.store import Pending, decode_row
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.ranker import make_ranker, make_team_planner
from streams.routing.directory import PartnerDirectory
from tests.integration.bus_kit import opportunity, partner

NOW = 1_800_000_000.0
NEEDS = ("storage", "backup", "security")


def _router(*extra: object) -> Router:
    directory = PartnerDirectory()
    for p in (
        partner("netco", ["networking"]),
        partner("storeco", ["storage", "backup"]),
        partner("secco", ["security"]),
        partner("secco2", ["security"]),
        partner("stor2", ["storage"]),
        partner("bakco", ["backup"]),
        *extra,
    ):
        directory.apply(p)  # type: ignore[arg-type]
    return Router(
        make_ranker(lambda: directory),
        ClaimRegistry(3600.0),
        ttl_s=60,
        team_planner=make_team_planner(lambda: directory),
    )


def _events(records) -> list:
    return [decode(r.value, r.headers).event for r in records if r.topic == "referrals"]


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _about(pid: str, oid: str = "t1") -> dict[str, str]:
    return {
        "referral_id": referral_id("netco", oid, pid),
        "opportunity_id": oid,
        "originator": "netco",
        "partner_id": pid,
    }


def _decline(pid: str, t: float) -> DeclineReferral:
    return DeclineReferral(**_about(pid), reason="no_capacity", requested_at=_at(t))


def _accept(pid: str, t: float) -> AcceptReferral:
    return AcceptReferral(**_about(pid), requested_at=_at(t))


def _publish(router: Router, table: dict) -> list:
    opp = opportunity("netco", "t1", NEEDS, team=True)
    pending = Pending(table)
    events = _events(router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW))
    table.update(pending.drain())
    return events


def _respond(router: Router, table: dict, cmd, t: float) -> list:
    pending = Pending(table)
    events = _events(router.on_response(cmd, pending, t))
    table.update(pending.drain())
    return events


def test_a_team_is_planned_each_role_offered_with_its_role_and_nobody_else_named() -> None:
    router, table = _router(), {}
    planned, *offers = _publish(router, table)
    assert isinstance(planned, TeamPlanned) and planned.round == 1
    assert {(m.needs, m.partner_id) for m in planned.roles} == {
        (("storage", "backup"), "storeco"),
        (("security",), _first_security(planned)),
    }
    assert all(isinstance(o, OfferMade) for o in offers)
    roles = {o.partner_id: o.team for o in offers}
    assert roles["storeco"].role == ("storage", "backup") and roles["storeco"].size == 2
    assert roles[_first_security(planned)].role == ("security",)
    for offer in offers:  # an offer names its own role only, never another member
        others = {"storeco", "secco", "secco2"} - {offer.partner_id}
        body = offer.model_dump(mode="json")
        body.pop("partner_id")
        assert not any(f'"{o}"' in str(body).replace("'", '"') for o in others)
        assert offer.team is not None and offer.team.size == 2
    # published again: the same offers, no second plan
    pending = Pending(table)
    opp = opportunity("netco", "t1", NEEDS, team=True)
    again = _events(router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW + 1))
    assert [e for e in again if isinstance(e, TeamPlanned)] == [planned]  # the same plan again
    offered = [e.partner_id for e in again if isinstance(e, OfferMade)]
    assert sorted(offered) == sorted([_first_security(planned), "storeco"])


def _first_security(planned: TeamPlanned) -> str:
    return next(m.partner_id for m in planned.roles if m.needs == ("security",))


def _second(first: str) -> str:
    return "secco2" if first == "secco" else "secco"


def test_a_declined_role_goes_down_its_own_waterfall_then_is_replanned_once() -> None:
    router, table = _router(), {}
    first = _first_security(_publish(router, table)[0])
    (_moved, offer) = _respond(router, table, _decline(first, NOW + 1), NOW + 1)
    assert offer.partner_id == _second(first) and offer.team.role == ("security",)
    # nobody else does storage+backup: its needs are re-planned, split between two new roles
    _moved, replanned, *offers = _respond(router, table, _decline("storeco", NOW + 2), NOW + 2)
    assert isinstance(replanned, TeamPlanned) and replanned.round == 2
    assert {(m.needs, m.partner_id) for m in replanned.roles} == {
        (("storage",), "stor2"),
        (("backup",), "bakco"),
    }
    assert {o.partner_id: o.team.size for o in offers} == {"stor2": 3, "bakco": 3}
    for pid, t in ((_second(first), 3), ("stor2", 4)):
        got = _respond(router, table, _accept(pid, NOW + t), NOW + t)
        assert not [e for e in got if isinstance(e, TeamAssembled | LeadAssembled)]
    last = _respond(router, table, _accept("bakco", NOW + 5), NOW + 5)
    (assembled,) = [e for e in last if isinstance(e, TeamAssembled)]
    team = {_second(first), "stor2", "bakco"}
    assert {m.partner_id for m in assembled.members} == team
    told = {e.partner_id: e for e in last if isinstance(e, LeadAssembled)}
    assert set(told) == team
    for pid, lead in told.items():  # each member learns the others, not itself
        assert {m.partner_id for m in lead.members} == team - {pid}
    (row,) = table.values()
    state = decode_row(row).state
    assert state.team is not None and state.team.status == "assembled"


def test_a_role_nobody_takes_after_the_replan_leaves_the_team_incomplete() -> None:
    router, table = _router(), {}
    _publish(router, table)
    _respond(router, table, _decline("storeco", NOW + 1), NOW + 1)  # the one re-plan
    _respond(router, table, _decline("stor2", NOW + 2), NOW + 2)  # storage: nobody left
    (row,) = table.values()
    team = decode_row(row).state.team
    assert team is not None and team.status == "incomplete"
    assert [r.status for r in team.roles if r.needs == ("storage",)] == ["unfilled"]


def test_a_single_need_role_nobody_takes_is_incomplete_with_the_reason() -> None:
    router, table = _router(), {}
    first = _first_security(_publish(router, table)[0])
    _respond(router, table, _decline(first, NOW + 1), NOW + 1)
    events = _respond(router, table, _decline(_second(first), NOW + 2), NOW + 2)
    (incomplete,) = [e for e in events if isinstance(e, TeamIncomplete)]
    assert set(incomplete.reasons) == {"security"}
    assert "nobody accepted" in incomplete.reasons["security"]
    # the other role lives on as its own referral: accepting it assembles nothing
    later = _respond(router, table, _accept("storeco", NOW + 3), NOW + 3)
    assert not [e for e in later if isinstance(e, TeamAssembled | LeadAssembled)]


def test_an_expired_role_is_refilled_by_the_deadline_tick() -> None:
    router, table = _router(), {}
    first = _first_security(_publish(router, table)[0])
    (key,) = table
    pending = Pending(table)
    events = _events(router.on_tick(key, pending, NOW + 61))
    table.update(pending.drain())
    offered = {e.partner_id for e in events if isinstance(e, OfferMade)}
    assert _second(first) in offered  # security went down its waterfall


def test_one_partner_covering_everything_is_a_team_of_one() -> None:
    router, table = _router(partner("allco", ["storage", "backup", "security"])), {}
    planned, offer = _publish(router, table)
    assert [m.partner_id for m in planned.roles] == ["allco"]
    assert offer.team.role == NEEDS and offer.team.size == 1
    last = _respond(router, table, _accept("allco", NOW + 1), NOW + 1)
    assert [type(e) for e in last if isinstance(e, TeamAssembled | LeadAssembled)] == [
        TeamAssembled,
        LeadAssembled,
    ]


def test_no_team_at_all_is_unroutable_and_incomplete_with_reasons_per_role() -> None:
    directory = PartnerDirectory()
    directory.apply(partner("netco", ["networking"]))
    directory.apply(partner("storeco", ["storage"]))
    router = Router(
        make_ranker(lambda: directory),
        ClaimRegistry(3600.0),
        ttl_s=60,
        team_planner=make_team_planner(lambda: directory),
    )
    events = _publish(router, {})
    assert [type(e) for e in events] == [OpportunityUnroutable, TeamIncomplete]
    assert events[1].reasons  # names the roles, not the directory


def test_a_repeated_input_replays_the_very_same_team_events() -> None:
    """At-least-once without transactions: the row may be stored while the batch's events were
    lost; the repeated input publishes them again, identical (ids, times), nothing else changes."""
    router, table = _router(), {}
    first = _first_security(_publish(router, table)[0])
    _respond(router, table, _decline("storeco", NOW + 1), NOW + 1)  # re-planned
    pending = Pending(table)
    accepted = [_accept(p, NOW + 2) for p in (first, "stor2", "bakco")]
    records = []
    for cmd in accepted:
        records = router.on_response(cmd, pending, NOW + 2)
    table.update(pending.drain())
    original = {(r.key, r.value) for r in records}
    again = router.on_response(accepted[-1], Pending(table), NOW + 9)
    assert original <= {(r.key, r.value) for r in again}  # the assembled news, the same bytes
    kinds = [type(e) for e in _events(again)]
    assert kinds.count(TeamPlanned) == 2 and TeamAssembled in kinds
    opp = opportunity("netco", "t1", NEEDS, team=True)
    republished = router.on_opportunity(opp, encode(opp, source="t").value, Pending(table), NOW)
    assert TeamAssembled in [type(e) for e in _events(republished)]
