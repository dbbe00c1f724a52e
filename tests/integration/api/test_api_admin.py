"""The operator's routes, paging and PATCH of a profile: contracts and abuse (no worker needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.http.models import ErrorBody, LeadList, PartnerList
from schemas.lifecycle import ConflictResolved
from schemas.operations import ConflictFlagged
from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka

ADMIN_GETS = (
    "/v1/admin/partners",
    "/v1/admin/opportunities?status=conflict",
    "/v1/admin/opportunities/northwind/nw-0001",
)
RESOLVE = "/v1/admin/opportunities/northwind/nw-0001/resolve"


async def test_a_partner_or_nobody_cannot_use_the_operators_routes(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    assert (
        await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    ).status == 202
    before = await api.end_offsets()
    for path in ADMIN_GETS:
        assert (await api.client.get(path, headers=nw)).status == 403
        assert (await api.client.get(path)).status == 401
    body = {"decision": "route", "reason": "mine"}
    assert (await api.client.post(RESOLVE, json=body, headers=nw)).status == 403
    assert (await api.client.post(RESOLVE, json=body)).status == 401
    assert await api.end_offsets() == before


async def test_resolve_is_only_for_a_conflict_and_names_bad_fields(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    assert (
        await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    ).status == 202
    before = await api.end_offsets()
    bad = await api.client.post(RESOLVE, json={"decision": "maybe"}, headers=api.admin)
    assert bad.status == 422
    fields = {e.field for e in ErrorBody.model_validate(await bad.json()).errors}
    assert fields == {"decision", "reason"}
    routing = await api.client.post(
        RESOLVE, json={"decision": "route", "reason": "why not"}, headers=api.admin
    )
    assert routing.status == 409  # it is routing, not in conflict
    missing = await api.client.post(
        "/v1/admin/opportunities/northwind/nope/resolve",
        json={"decision": "route", "reason": "x"},
        headers=api.admin,
    )
    assert missing.status == 404
    assert await api.end_offsets() == before

    # flagged (as the router would say it), it is listed and resolved once
    now = datetime.now(UTC)
    await api.emit(
        ConflictFlagged(
            opportunity_id="nw-0001",
            originator="northwind",
            domain="acme-health.example",
            needs=("storage",),
            first_registered_at=now,
            flagged_at=now,
        )
    )
    listed = await api.client.get("/v1/admin/opportunities?status=conflict", headers=api.admin)
    assert [o["opportunity_id"] for o in (await listed.json())["opportunities"]] == ["nw-0001"]
    unknown = await api.client.get("/v1/admin/opportunities?status=stuck", headers=api.admin)
    assert unknown.status == 400
    ok = await api.client.post(
        RESOLVE, json={"decision": "reject", "reason": "duplicate"}, headers=api.admin
    )
    assert ok.status == 202 and (await ok.json())["status"] == "rejected"
    view = await (await api.client.get("/v1/opportunities/nw-0001", headers=nw)).json()
    assert view["status"] == "rejected" and view["resolution"]["reason"] == "duplicate"
    assert [n["type"] for n in view["notices"]] == ["conflict_flagged", "conflict_resolved"]
    again = await api.client.post(
        RESOLVE, json={"decision": "route", "reason": "second thoughts"}, headers=api.admin
    )
    assert again.status == 409
    events = [e for _, e in await _opportunity_events(api)]
    assert [type(e) for e in events if isinstance(e, ConflictResolved)] == [ConflictResolved]


async def _opportunity_events(api: Harness) -> list:
    from tests.integration.api.test_api_opportunities import _published

    return await _published(api)


async def test_partners_are_listed_filtered_and_paged(api: Harness) -> None:
    await api.register("northwind", capabilities=["networking"], regions=["US"])
    await api.register("contoso", capabilities=["storage"], regions=["DE"], kind="msp")
    await api.register("fabrikam", capabilities=["storage"], regions=["US"], accepting=False)
    get = api.client.get
    first = PartnerList.model_validate(
        await (await get("/v1/admin/partners?limit=2", headers=api.admin)).json()
    )
    assert [p.partner_id for p in first.partners] == ["contoso", "fabrikam"] and first.next
    rest = PartnerList.model_validate(
        await (await get(f"/v1/admin/partners?limit=2&next={first.next}", headers=api.admin)).json()
    )
    assert [p.partner_id for p in rest.partners] == ["northwind"] and rest.next is None
    for query, expected in (
        ("capability=storage", ["contoso", "fabrikam"]),
        ("region=US-CA", ["fabrikam", "northwind"]),  # a country covers its subdivisions
        ("kind=msp", ["contoso"]),
        ("accepting=false", ["fabrikam"]),
        ("capability=storage&accepting=true", ["contoso"]),
    ):
        body = await (await get(f"/v1/admin/partners?{query}", headers=api.admin)).json()
        assert [p["partner_id"] for p in body["partners"]] == expected, query
    for query in ("limit=0", "limit=1001", "limit=ten", "next=bm90LWEtY3Vyc29y", "accepting=yes"):
        resp = await get(f"/v1/admin/partners?{query}", headers=api.admin)
        assert resp.status == 400, query
        assert ErrorBody.model_validate(await resp.json()).message


async def test_leads_are_paged_in_a_stable_order(api: Harness) -> None:
    contoso = await api.register("contoso")
    offers = [await api.offer("northwind", f"nw-{i}", "contoso") for i in range(3)]
    page1 = LeadList.model_validate(
        await (await api.client.get("/v1/leads?limit=2", headers=contoso)).json()
    )
    assert [x.referral_id for x in page1.leads] == [o.referral_id for o in offers[:2]]
    await api.declined(offers[0])  # a change of status does not move a lead between pages
    page2 = LeadList.model_validate(
        await (await api.client.get(f"/v1/leads?limit=2&next={page1.next}", headers=contoso)).json()
    )
    assert [x.referral_id for x in page2.leads] == [offers[2].referral_id]
    assert page2.next is None and page2.count == 1


async def test_patch_changes_only_the_fields_sent(api: Harness) -> None:
    contoso = await api.register("contoso", capabilities=["storage", "backup"], capacity=5)
    fabrikam = await api.register("fabrikam", capabilities=["security"])
    patch = {"Content-Type": "application/merge-patch+json"}
    resp = await api.client.patch(
        "/v1/partners/contoso", data=b'{"capacity": 3}', headers={**contoso, **patch}
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["capacity"] == 3 and body["version"] == 2
    assert body["capabilities"] == ["storage", "backup"] and body["regions"] == ["US"]
    reset = await api.client.patch("/v1/partners/contoso", json={"capacity": None}, headers=contoso)
    assert (await reset.json())["capacity"] == 10  # null: the default
    before = await api.end_offsets()
    for who, partner, payload, status in (
        (fabrikam, "contoso", {"capacity": 1}, 403),  # another partner's profile
        (contoso, "contoso", {"version": 99}, 422),  # not a profile field
        (contoso, "contoso", {"capacity": -1}, 422),
        (contoso, "contoso", {"capabilities": []}, 422),
        (api.admin, "nobody", {"capacity": 1}, 404),
    ):
        resp = await api.client.patch(f"/v1/partners/{partner}", json=payload, headers=who)
        assert resp.status == status, (payload, await resp.text())
    bad = await api.client.patch("/v1/partners/contoso", json={"capacity": -1}, headers=contoso)
    assert {e.field for e in ErrorBody.model_validate(await bad.json()).errors} == {"capacity"}
    assert await api.end_offsets() == before
