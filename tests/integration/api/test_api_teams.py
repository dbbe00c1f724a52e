"""Teaming end to end: the HTTP API and the real worker (router + scorecards) on the embedded broker.

A networking reseller publishes a storage + backup + security opportunity as a team. The router
offers each role to its member; a declined role goes down its own waterfall; a role nobody else
takes is re-planned once (split between two partners); the team is assembled when every role is
accepted. A member learns the customer and the prime on accepting, the others only once the team
is assembled. Another opportunity whose only security partner declines ends incomplete.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.client import OppbusClient
from connectors.http.models import Lead
from schemas.codec import encode
from schemas.events import event_key
from schemas.teams import LeadAssembled, TeamMate
from streams.record_auth import RecordAuth
from streams.runtime.app import create_app
from streams.wiring import register_all
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.bus_kit import Bus
from tests.integration.polling import wait_for

pytestmark = pytest.mark.kafka

NEEDS = ["storage", "backup", "security"]
PARTNERS = {
    "northwind": ["networking"],
    "contoso": ["storage", "backup"],
    "fabrikam": ["security"],
    "woodgrove": ["security"],
    "tailspin": ["storage"],
    "adatum": ["backup"],
}


@pytest.fixture
async def bus(api: Harness) -> AsyncIterator[dict[str, dict[str, str]]]:
    keys = {}
    for pid, caps in PARTNERS.items():
        extra: dict[str, Any] = {}
        if pid == "northwind":
            extra["contact"] = {"name": "Nora Wind", "email": "nora@northwind.example"}
        keys[pid] = await api.register(pid, capabilities=caps, **extra)
    worker = create_app(api.settings)
    register_all(worker, api.settings)
    await worker.start()
    try:
        yield keys
    finally:
        await worker.stop()


async def _get(api: Harness, path: str, key: dict[str, str]) -> tuple[int, Any]:
    resp = await api.client.get(path, headers=key)
    return resp.status, await resp.json()


async def _team(api: Harness, key: dict[str, str], oid: str, ready: Any) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        status, body = await _get(api, f"/v1/opportunities/{oid}", key)
        assert status == 200, body
        team = body.get("team")
        return body if team is not None and ready(team) else None

    return await wait_for(check, 30, what=f"team of {oid}")


async def _lead(api: Harness, key: dict[str, str], oid: str) -> dict[str, Any] | None:
    _, body = await _get(api, "/v1/leads", key)
    found = [lead for lead in body["leads"] if lead["opportunity_id"] == oid]
    return found[-1] if found else None


async def _act(api: Harness, key: dict[str, str], lead: dict[str, Any], action: str) -> None:
    body = {"reason": "no_capacity"} if action == "decline" else None
    resp = await api.client.post(
        f"/v1/referrals/{lead['referral_id']}/{action}",
        json=body,
        headers={**key, "Prefer": "wait=10"},
    )
    assert resp.status in (200, 202), await resp.text()


def _roles(team: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(r["needs"]): r for r in team["roles"]}


async def test_a_team_is_planned_replanned_once_and_assembled(
    api: Harness, bus: dict[str, dict[str, str]]
) -> None:
    nw = bus["northwind"]
    resp = await api.client.post(
        "/v1/opportunities", json=opportunity(opportunity_id="team-1", needs=NEEDS, team=True),
        headers=nw,
    )  # fmt: skip
    assert resp.status == 202, await resp.text()
    view = await _team(api, nw, "team-1", lambda t: len(t["roles"]) == 2)
    assert view["team"]["status"] == "assembling"
    roles = _roles(view["team"])
    assert {k: r["status"] for k, r in roles.items()} == {
        ("storage", "backup"): "offered",
        ("security",): "offered",
    }
    assert all("partner_id" not in r for r in roles.values())  # nobody accepted yet
    security = {o["partner_id"] for o in view["offers"]} - {"contoso"}
    (first,) = security
    second = ({"fabrikam", "woodgrove"} - {first}).pop()

    # the security role goes down its own waterfall
    lead = await _lead(api, bus[first], "team-1")
    assert lead is not None and lead["team"] == {"role": ["security"], "size": 2}
    assert "customer" not in lead
    await _act(api, bus[first], lead, "decline")
    sec = await wait_for(lambda: _lead(api, bus[second], "team-1"), 30, what="next security")
    assert sec["team"]["role"] == ["security"]

    # nobody else does storage + backup: re-planned once, split between two partners
    mine = await _lead(api, bus["contoso"], "team-1")
    assert mine is not None
    await _act(api, bus["contoso"], mine, "decline")
    view = await _team(api, nw, "team-1", lambda t: len(t["roles"]) == 3)
    assert set(_roles(view["team"])) == {("security",), ("storage",), ("backup",)}
    storage = await wait_for(lambda: _lead(api, bus["tailspin"], "team-1"), 30)
    backup = await wait_for(lambda: _lead(api, bus["adatum"], "team-1"), 30)
    assert storage["team"] == {"role": ["storage"], "size": 3}

    await _act(api, bus[second], sec, "accept")
    await _act(api, bus["tailspin"], storage, "accept")
    accepted = await _lead(api, bus["tailspin"], "team-1")
    assert accepted is not None and accepted["customer"]["company"] == "Acme Health"
    prime = accepted["team"]["prime"]
    assert prime["partner_id"] == "northwind" and prime["contact"]["name"] == "Nora Wind"
    assert "members" not in accepted["team"]  # not assembled yet: nothing of the others
    # the member still to accept sees no customer, no prime, nobody
    waiting = await _lead(api, bus["adatum"], "team-1")
    assert waiting is not None and "customer" not in waiting
    assert set(waiting["team"]) == {"role", "size"}
    # another partner's token reaches nothing of this team
    status, _ = await _get(api, f"/v1/leads/{storage['referral_id']}", bus["adatum"])
    assert status == 404
    status, _ = await _get(api, "/v1/opportunities/team-1", bus["tailspin"])
    assert status == 404
    refused = await api.client.post(
        f"/v1/referrals/{storage['referral_id']}/accept", headers=bus["adatum"]
    )
    assert refused.status == 404

    # tailspin follows its leads over SSE: the members arrive there once the team is assembled
    base = str(api.client.make_url("")).rstrip("/")
    stream = OppbusClient(base, bus["tailspin"]["Authorization"][7:])
    streamed: asyncio.Queue[Lead] = asyncio.Queue()

    async def listen() -> None:
        async for lead in stream.subscribe(reconnect_delay_s=0.1):
            await streamed.put(lead)

    listener = asyncio.create_task(listen())
    try:
        async with asyncio.timeout(30):  # its accepted lead first: prime, no members
            while (first_seen := await streamed.get()).team is None:
                pass
        assert first_seen.team is not None and first_seen.team.members is None
        await _act(api, bus["adatum"], backup, "accept")
        async with asyncio.timeout(30):
            while (got := await streamed.get()).team is None or got.team.members is None:
                pass
        assert {m.partner_id for m in got.team.members} == {second, "adatum"}
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await stream.close()
    view = await _team(api, nw, "team-1", lambda t: t["status"] == "assembled")
    roles = _roles(view["team"])
    assert {k: (r["status"], r.get("partner_id")) for k, r in roles.items()} == {
        ("security",): ("accepted", second),
        ("storage",): ("accepted", "tailspin"),
        ("backup",): ("accepted", "adatum"),
    }

    async def members() -> list[dict[str, Any]] | None:
        lead = await _lead(api, bus["tailspin"], "team-1")
        return lead["team"].get("members") if lead else None

    told = await wait_for(members, 30, what="members of the assembled team")
    assert {m["partner_id"] for m in told} == {second, "adatum"}
    assert {tuple(m["needs"]) for m in told} == {("security",), ("backup",)}
    # the partners who declined never learn the team
    for pid in (first, "contoso"):
        gone = await _lead(api, bus[pid], "team-1")
        assert gone is not None and "members" not in gone["team"] and "customer" not in gone
    # AWS: one engagement invitation per role, the member as receiver; Microsoft says it drops it
    status, aws = await _get(api, "/v1/opportunities/team-1?format=aws", nw)
    assert status == 200
    invitations = aws["opportunity"]["EngagementInvitations"]
    assert {
        (i["Payload"]["OpportunityInvitation"]["Project"]["CustomerUseCase"],
         i["Receiver"]["Account"]["Alias"])
        for i in invitations
    } == {("security", second), ("storage", "tailspin"), ("backup", "adatum")}  # fmt: skip
    assert all(
        i["Payload"]["OpportunityInvitation"]["ReceiverResponsibilities"] == ["Reseller"]
        for i in invitations
    )
    assert any("AwsAccountId" in d for d in aws["dropped"])
    status, ms = await _get(api, "/v1/opportunities/team-1?format=microsoft", nw)
    assert status == 200 and any(d.startswith("team:") for d in ms["dropped"])

    async def counted() -> bool:  # the funnel reads the ledger on its own: poll it
        text = await (await api.client.get("/metrics")).text()
        return all(
            f'oppbus_teams_total{{step="{step}"}} 1.0' in text
            for step in ("planned", "replanned", "assembled")
        )

    assert await wait_for(counted, 30, what="oppbus_teams_total")


async def test_a_role_nobody_takes_leaves_the_team_incomplete(
    api: Harness, bus: dict[str, dict[str, str]]
) -> None:
    nw = bus["northwind"]
    body = opportunity(opportunity_id="team-2", needs=["storage", "security"], team=True)
    resp = await api.client.post("/v1/opportunities", json=body, headers=nw)
    assert resp.status == 202, await resp.text()
    view = await _team(api, nw, "team-2", lambda t: len(t["roles"]) == 2)
    offered = {o["partner_id"] for o in view["offers"]}
    (first,) = offered & {"fabrikam", "woodgrove"}
    second = ({"fabrikam", "woodgrove"} - {first}).pop()
    for pid in (first, second):
        lead = await wait_for(lambda pid=pid: _lead(api, bus[pid], "team-2"), 30)
        await _act(api, bus[pid], lead, "decline")
    view = await _team(api, nw, "team-2", lambda t: t["status"] == "incomplete")
    security = _roles(view["team"])[("security",)]
    assert security["status"] == "unfilled" and "nobody accepted" in security["reason"]
    assert any(n["type"] == "team_incomplete" for n in view["notices"])


async def test_a_team_of_one_need_is_refused_naming_team_and_publishes_nothing(
    api: Harness,
) -> None:
    key = await api.register("northwind", capabilities=["networking"])
    before = await api.end_offsets()
    resp = await api.client.post(
        "/v1/opportunities", json=opportunity(opportunity_id="solo", team=True), headers=key
    )
    assert resp.status == 422
    assert [e["field"] for e in (await resp.json())["errors"]] == ["team"]
    resp = await api.client.post(
        "/v1/opportunities", json=opportunity(opportunity_id="solo", team="yes"), headers=key
    )
    assert resp.status == 422 and "team" in {e["field"] for e in (await resp.json())["errors"]}
    assert await api.end_offsets() == before


async def test_a_forged_assembled_notice_names_nobody_to_a_member(
    api: Harness, bus: dict[str, dict[str, str]]
) -> None:
    """Anyone who reaches the broker writes a lead.assembled to a member naming an "other
    member" (unsigned, then with a key that is not the bus's): the read model skips both, the
    member's lead stays without members."""
    nw = bus["northwind"]
    body = opportunity(opportunity_id="team-3", needs=["storage", "security"], team=True)
    assert (await api.client.post("/v1/opportunities", json=body, headers=nw)).status == 202
    view = await _team(api, nw, "team-3", lambda t: len(t["roles"]) == 2)
    holder = next(o for o in view["offers"] if o["partner_id"] in ("tailspin", "contoso"))
    lead = await wait_for(lambda: _lead(api, bus[holder["partner_id"]], "team-3"), 30)
    await _act(api, bus[holder["partner_id"]], lead, "accept")
    forged = LeadAssembled(
        referral_id=lead["referral_id"],
        opportunity_id="team-3",
        originator="northwind",
        partner_id=holder["partner_id"],
        role=tuple(lead["team"]["role"]),
        members=(TeamMate(needs=("security",), partner_id="attacker"),),
        assembled_at=datetime.now(UTC),
    )
    skipped = api.state.readmodel.skipped
    async with Bus(api.settings) as raw:
        enc = encode(forged, source="urn:attacker")
        key = event_key(forged) or b""
        await raw.send_raw("referrals", key, enc.value, enc.headers)
        stamped = RecordAuth([b"not-the-bus-key"]).stamp(
            api.settings.topic("referrals"), key, enc.value, enc.headers
        )
        await raw.send_raw("referrals", key, enc.value, stamped)
    await wait_for(lambda: api.state.readmodel.skipped >= skipped + 2, 30)
    mine = await _lead(api, bus[holder["partner_id"]], "team-3")
    assert mine is not None and "members" not in mine["team"]
    _, view = await _get(api, "/v1/opportunities/team-3", nw)
    assert view["team"]["status"] == "assembling"
