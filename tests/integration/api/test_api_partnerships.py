"""Contract tests: partnerships (propose, accept, end, new terms), network default terms, abuse."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import Harness

pytestmark = pytest.mark.kafka

TEN = {"referral_fee": {"percent": "10"}}


async def _propose(api: Harness, key: dict[str, str], partner: str, terms: Any = TEN) -> Any:
    resp = await api.client.post(
        "/v1/partnerships", json={"partner_id": partner, "terms": terms}, headers=key
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_propose_accept_new_terms_and_end(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    south = await api.register("south")
    body = await _propose(api, north, "south")
    pid = body["partnership_id"]
    assert body["status"] == "proposed" and body["terms"]["referral_fee"] == {"percent": "10"}
    assert body["terms"]["version"] == 1 and body["terms"]["approval_days"] == 30
    # the proposer cannot accept its own proposal
    own = await api.client.post(f"/v1/partnerships/{pid}/accept", headers=north)
    assert own.status == 403
    ok = await api.client.post(f"/v1/partnerships/{pid}/accept", headers=south)
    assert ok.status == 200 and (await ok.json())["status"] == "active"
    # new terms: pending until the other side accepts them with the same accept action
    put = await api.client.put(
        f"/v1/partnerships/{pid}/terms",
        json={"referral_fee": {"amount": "500.00", "currency": "EUR"}},
        headers=south,
    )
    assert put.status == 200, await put.text()
    pending = await put.json()
    assert pending["terms"]["version"] == 1 and pending["pending_terms"]["version"] == 2
    assert pending["awaiting"] == "north"
    assert (await api.client.post(f"/v1/partnerships/{pid}/accept", headers=south)).status == 403
    agreed = await api.client.post(f"/v1/partnerships/{pid}/accept", headers=north)
    terms = (await agreed.json())["terms"]
    assert terms["version"] == 2 and terms["referral_fee"]["currency"] == "EUR"
    assert api.state.views.commerce.terms_between("north", "south") is not None
    # one live partnership per pair
    again = await api.client.post(
        "/v1/partnerships", json={"partner_id": "north", "terms": TEN}, headers=south
    )
    assert again.status == 409 and pid in (await again.json())["message"]
    ended = await api.client.post(f"/v1/partnerships/{pid}/end", headers=south)
    assert (await ended.json())["status"] == "ended"
    assert api.state.views.commerce.terms_between("north", "south") is None
    assert (await api.client.post(f"/v1/partnerships/{pid}/end", headers=north)).status == 409
    listed = await (await api.client.get("/v1/partnerships", headers=north)).json()
    assert [p["partnership_id"] for p in listed["partnerships"]] == [pid]
    assert listed["next"] is None


async def test_list_pages_with_an_opaque_cursor(api: Harness) -> None:
    hub = await api.register("hub")
    for i in range(5):
        await api.register(f"spoke-{i}")
        await _propose(api, hub, f"spoke-{i}")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = "?limit=2" + (f"&next={cursor}" if cursor else "")
        resp = await api.client.get("/v1/partnerships" + query, headers=hub)
        body = await resp.json()
        assert len(body["partnerships"]) <= 2
        seen += [p["partnership_id"] for p in body["partnerships"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen)
    for bad in ("?limit=0", "?limit=1001", "?limit=x", "?next=%%%"):
        resp = await api.client.get("/v1/partnerships" + bad, headers=hub)
        assert resp.status == 400, bad
        assert (await resp.json())["error"] in ("bad_limit", "bad_cursor")


async def test_a_stranger_gets_404_and_nothing_is_published(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    await api.register("south")
    mallory = await api.register("mallory", capabilities=["security"])
    pid = (await _propose(api, north, "south"))["partnership_id"]
    before = await api.end_offsets()
    for method, path, body in (
        ("post", f"/v1/partnerships/{pid}/accept", None),
        ("post", f"/v1/partnerships/{pid}/end", None),
        ("put", f"/v1/partnerships/{pid}/terms", TEN),
        ("get", f"/v1/partnerships/{pid}", None),
        ("post", "/v1/partnerships/ps_00000000000000000000/accept", None),
    ):
        resp = await api.client.request(method, path, json=body, headers=mallory)
        assert resp.status == 404, (path, await resp.text())
    listed = await (await api.client.get("/v1/partnerships", headers=mallory)).json()
    assert listed["partnerships"] == []
    # the operator acts as no partner
    admin = await api.client.post(f"/v1/partnerships/{pid}/accept", headers=api.admin)
    assert admin.status == 403
    assert await api.end_offsets() == before


@pytest.mark.parametrize(
    "terms,field",
    [
        ({"referral_fee": {"percent": "0"}}, "terms.referral_fee.percent"),
        ({"referral_fee": {"percent": "-5"}}, "terms.referral_fee.percent"),
        ({"referral_fee": {"percent": "100.01"}}, "terms.referral_fee.percent"),
        ({"referral_fee": {"percent": 10}}, "terms.referral_fee.percent"),
        ({"referral_fee": {"amount": "500.00", "currency": "EUX"}}, "terms.referral_fee.currency"),
        ({"referral_fee": {"amount": "5.5", "currency": "JPY"}}, "terms.referral_fee.amount"),
        (
            {
                "referral_fee": {"amount": "500.00", "currency": "EUR"},
                "cap": {"amount": "400.00", "currency": "USD"},
            },
            "terms.cap",
        ),
        ({"referral_fee": {"percent": "10"}, "approval_days": -1}, "terms.approval_days"),
    ],
)
async def test_bad_terms_are_422_naming_the_field_and_publish_nothing(
    api: Harness, terms: dict[str, Any], field: str
) -> None:
    north = await api.register("north", capabilities=["networking"])
    south = await api.register("south")
    pid = (await _propose(api, north, "south"))["partnership_id"]
    await api.client.post(f"/v1/partnerships/{pid}/accept", headers=south)
    before = await api.end_offsets()
    resp = await api.client.post(
        "/v1/partnerships", json={"partner_id": "south", "terms": terms}, headers=north
    )
    assert resp.status == 422, await resp.text()
    assert any(e["field"].startswith(field) for e in (await resp.json())["errors"]), field
    bare = field.removeprefix("terms.")
    put = await api.client.put(f"/v1/partnerships/{pid}/terms", json=terms, headers=north)
    assert put.status == 422
    assert any(e["field"].startswith(bare) for e in (await put.json())["errors"]), bare
    default = await api.client.put("/v1/terms/default", json=terms, headers=api.admin)
    assert default.status == 422
    assert await api.end_offsets() == before


async def test_network_default_terms_are_set_by_the_operator_only(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    await api.register("south")
    assert (await api.client.get("/v1/terms/default", headers=north)).status == 404
    before = await api.end_offsets()
    refused = await api.client.put("/v1/terms/default", json=TEN, headers=north)
    assert refused.status == 403 and await api.end_offsets() == before
    first = await api.client.put("/v1/terms/default", json=TEN, headers=api.admin)
    assert first.status == 200 and (await first.json())["terms"]["version"] == 1
    second = await api.client.put(
        "/v1/terms/default", json={"referral_fee": {"percent": "7.5"}}, headers=api.admin
    )
    assert (await second.json())["terms"]["version"] == 2
    seen = await (await api.client.get("/v1/terms/default", headers=north)).json()
    assert seen["terms"]["referral_fee"] == {"percent": "7.5"}
    terms = api.state.views.commerce.terms_between("north", "south")
    assert terms is not None and terms.version == 2


async def test_proposing_to_an_unknown_partner_or_oneself_publishes_nothing(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    before = await api.end_offsets()
    unknown = await api.client.post(
        "/v1/partnerships", json={"partner_id": "nobody", "terms": TEN}, headers=north
    )
    assert unknown.status == 404
    itself = await api.client.post(
        "/v1/partnerships", json={"partner_id": "north", "terms": TEN}, headers=north
    )
    assert itself.status == 409
    assert await api.end_offsets() == before
