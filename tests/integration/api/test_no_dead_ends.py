"""No dead ends, through the HTTP API with the real worker on the embedded broker.

Conflicts: both originators are told without learning each other, the operator lists and resolves
them (an event with its reason), withdrawing the first opportunity frees its customer at once.
Waiting: at capacity an opportunity waits and is offered when the slot frees; with no partner yet
it is offered when one joins; exhausted has its counts and a reroute re-offers it to someone new.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.http.models import AdminOpportunityView, OpportunityList, OpportunityView
from streams.runtime.app import create_app
from streams.settings import Settings
from streams.wiring import Contexts, register_all
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.polling import until

pytestmark = pytest.mark.kafka

ACME = {"company": "Acme Health", "domain": "acme-health.example", "contacts": []}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The session's settings with a re-check of waiting opportunities too rare to matter here:
    a freed slot or a new partner must wake them."""
    return settings.model_copy(update={"waiting_recheck_s": 600.0})


@pytest.fixture
async def worker(api: Harness) -> AsyncIterator[Contexts]:
    app = create_app(api.settings)
    contexts = register_all(app, api.settings)
    await app.start()
    try:
        yield contexts
    finally:
        await app.stop()


async def _view(api: Harness, who: dict[str, str], oid: str) -> dict[str, Any]:
    resp = await api.client.get(f"/v1/opportunities/{oid}", headers=who)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    OpportunityView.model_validate(body)
    return body


async def _until_status(api: Harness, who: dict[str, str], oid: str, status: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def check() -> bool:
        seen.update(await _view(api, who, oid))
        return seen["status"] == status

    for _ in range(300):
        if await check():
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"{oid} is {seen.get('status')}, not {status}: {seen.get('notices')}")


async def _publish(api: Harness, who: dict[str, str], **over: Any) -> None:
    resp = await api.client.post("/v1/opportunities", json=opportunity(**over), headers=who)
    assert resp.status == 202, await resp.text()


async def test_a_conflict_is_told_to_both_listed_resolved_and_released(
    api: Harness, worker: Contexts
) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    ad = await api.register("adatum", capabilities=["security"])
    await api.register("contoso", capabilities=["storage"])
    await _publish(api, nw, opportunity_id="nw-1", customer=ACME)
    await _until_status(api, nw, "nw-1", "offered")
    await _publish(api, ad, opportunity_id="ad-1", customer=ACME)
    later = await _until_status(api, ad, "ad-1", "conflict")
    assert later["conflict"] and later["offers"] == []
    assert "northwind" not in str(later["notices"]) and "nw-1" not in str(later["notices"])
    # the first originator is told too, on its own opportunity, without learning who
    assert await until(lambda: _holder_notice(api, "northwind", "nw-1"), 20)
    first = await _view(api, nw, "nw-1")
    assert first["status"] == "offered" and not first["conflict"]
    assert "adatum" not in str(first["notices"]) and "ad-1" not in str(first["notices"])

    # the operator lists the open conflicts; a partner may not
    listed = await api.client.get("/v1/admin/opportunities?status=conflict", headers=api.admin)
    body = OpportunityList.model_validate(await listed.json())
    assert [(o.originator, o.opportunity_id) for o in body.opportunities] == [("adatum", "ad-1")]
    for who in (nw, ad):
        denied = await api.client.get("/v1/admin/opportunities?status=conflict", headers=who)
        assert denied.status == 403
    before = (await api.end_offsets())["opportunities"]  # the worker writes the others
    forged = await api.client.post(
        "/v1/admin/opportunities/adatum/ad-1/resolve",
        json={"decision": "route", "reason": "mine"},
        headers=ad,
    )
    assert forged.status == 403 and (await api.end_offsets())["opportunities"] == before

    resolved = await api.client.post(
        "/v1/admin/opportunities/adatum/ad-1/resolve",
        json={"decision": "route", "reason": "another project at the same customer"},
        headers=api.admin,
    )
    assert resolved.status == 202, await resolved.text()
    routed = await _until_status(api, ad, "ad-1", "offered")
    assert routed["resolution"]["reason"] == "another project at the same customer"
    again = await api.client.post(
        "/v1/admin/opportunities/adatum/ad-1/resolve",
        json={"decision": "reject", "reason": "changed my mind"},
        headers=api.admin,
    )
    assert again.status == 409
    history = await api.client.get("/v1/admin/opportunities/adatum/ad-1", headers=api.admin)
    view = AdminOpportunityView.model_validate(await history.json())
    steps = [h["type"] for h in view.history]
    assert steps[:3] == ["published", "conflict_flagged", "conflict_resolved"]
    assert "offered" in steps

    # withdrawing the first releases its customer at once: a new opportunity is not flagged
    resp = await api.client.post("/v1/opportunities/nw-1/withdraw", json={}, headers=nw)
    assert resp.status == 202
    await asyncio.sleep(1.0)  # the router handles the withdrawal (it shares nothing with ad-2)
    await _publish(api, ad, opportunity_id="ad-2", customer=ACME, needs=["storage"])
    fresh = await _until_status(api, ad, "ad-2", "offered")
    assert not fresh["conflict"]
    # ... and a conflict the operator rejects is rejected
    await _publish(api, nw, opportunity_id="nw-2", customer=ACME)
    await _until_status(api, nw, "nw-2", "conflict")
    rejected = await api.client.post(
        "/v1/admin/opportunities/northwind/nw-2/resolve",
        json={"decision": "reject", "reason": "duplicate of a registered deal"},
        headers=api.admin,
    )
    assert rejected.status == 202
    assert (await _until_status(api, nw, "nw-2", "rejected"))["offers"] == []


def _holder_notice(api: Harness, originator: str, oid: str) -> bool:
    state = api.state.views.opportunity_of(originator, oid)
    return state is not None and any(n.get("holds_claim") for n in state.notices)


async def test_waiting_for_capacity_and_a_partner_then_exhausted_and_rerouted(
    api: Harness, worker: Contexts
) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    contoso = await api.register("contoso", capabilities=["storage"], capacity=1)
    await _publish(api, nw, opportunity_id="nw-1")
    (first,) = (await _until_status(api, nw, "nw-1", "offered"))["offers"]
    # the partners' load reaches the router through the scorecards (partner-stats), as here
    stats = api.state.views.stats
    assert await until(lambda: "contoso" in stats and stats["contoso"].open_offers == 1, 20)
    await asyncio.sleep(0.5)
    await _publish(api, nw, opportunity_id="nw-2", customer={**ACME, "domain": "b.example"})
    waiting = await _until_status(api, nw, "nw-2", "waiting")
    assert waiting["waiting"]["reasons"] == {"at_capacity": 1}
    assert waiting["waiting"]["until"].startswith("2027-03-31T23:59:59")
    listed = await api.client.get("/v1/admin/opportunities?status=waiting", headers=api.admin)
    assert [o["opportunity_id"] for o in (await listed.json())["opportunities"]] == ["nw-2"]

    # contoso declines nw-1: nw-1 is exhausted with its counts, nw-2 gets the freed slot
    declined = await api.client.post(
        f"/v1/referrals/{first['referral_id']}/decline", json={"reason": "timing"}, headers=contoso
    )
    assert declined.status in (200, 202)
    exhausted = await _until_status(api, nw, "nw-1", "exhausted")
    assert exhausted["exhausted"] == {"offered": 1, "declined": 1, "expired": 0, "rounds": 1}
    offered = await _until_status(api, nw, "nw-2", "offered")
    assert [o["partner_id"] for o in offered["offers"]] == ["contoso"]

    # a reroute: only by its originator, only when exhausted or unroutable
    fabrikam = await api.register("fabrikam", capabilities=["storage"])
    # the profile and the reroute travel on different topics: a reroute the router reads before
    # the profile finds nobody new (exhausted again); the originator would reroute once it is listed
    directory = worker.directory.directory
    assert await until(lambda: directory.get("fabrikam") is not None, 20)
    before = (await api.end_offsets())["opportunities"]  # the worker writes the others
    for who, oid, status in (
        (fabrikam, "nw-1", 404),  # another partner's opportunity does not exist for it
        (api.admin, "nw-1", 403),
        (nw, "nw-2", 409),  # offered: nothing to re-open
        (nw, "nope", 404),
    ):
        resp = await api.client.post(f"/v1/opportunities/{oid}/reroute", headers=who)
        assert resp.status == status, (oid, await resp.text())
    assert (await api.end_offsets())["opportunities"] == before
    resp = await api.client.post("/v1/opportunities/nw-1/reroute", headers=nw)
    assert resp.status == 202, await resp.text()
    rerouted = await _until_status(api, nw, "nw-1", "offered")
    assert [(o["partner_id"], o["status"]) for o in rerouted["offers"]] == [
        ("contoso", "declined"),
        ("fabrikam", "offered"),
    ]

    # no partner yet for printing: it waits, and is offered once a printing partner joins
    await _publish(
        api, nw, opportunity_id="nw-3", needs=["printing"], customer={**ACME, "domain": "c.example"}
    )
    nobody = await _until_status(api, nw, "nw-3", "waiting")
    assert nobody["waiting"]["reasons"] == {"no_partner": 0}
    await api.register("printco", capabilities=["printing"])
    joined = await _until_status(api, nw, "nw-3", "offered")
    assert [o["partner_id"] for o in joined["offers"]] == ["printco"]
