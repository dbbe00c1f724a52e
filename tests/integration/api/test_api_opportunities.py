"""Contract tests: publishing opportunities, the originator's view, withdrawal."""

from __future__ import annotations

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from connectors.http.models import ErrorBody, OpportunityAccepted, OpportunityView
from schemas.codec import decode
from schemas.ids import opportunity_key
from schemas.opportunity import Opportunity
from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka


async def _published(api: Harness) -> list[tuple[bytes, Opportunity]]:
    consumer = AIOKafkaConsumer(
        api.settings.topic("opportunities"),
        bootstrap_servers=api.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        records = [r for rs in batches.values() for r in rs]
        return [(r.key, decode(r.value, r.headers).event) for r in records]  # type: ignore[misc]
    finally:
        await consumer.stop()


async def test_publish_is_202_after_ack_and_visible_to_its_originator(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    resp = await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    assert resp.status == 202
    body = OpportunityAccepted.model_validate(await resp.json())
    assert body.opportunity_id == "nw-0001" and not body.duplicate
    assert resp.headers["Location"] == "/v1/opportunities/nw-0001"
    [(key, event)] = await _published(api)
    assert key == opportunity_key("northwind", "nw-0001").encode()
    assert event.originator == "northwind" and event.customer.company == "Acme Health"
    view = await api.client.get("/v1/opportunities/nw-0001", headers=nw)
    assert view.status == 200
    state = OpportunityView.model_validate(await view.json())
    assert state.status == "routing" and state.offers == []
    assert state.opportunity.deal_size.amount == 250000


async def test_publishing_twice_is_idempotent_and_a_changed_copy_conflicts(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    assert (
        await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    ).status == 202
    before = await api.end_offsets()
    again = await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    assert again.status == 202 and (await again.json())["duplicate"] is True
    changed = await api.client.post(
        "/v1/opportunities", json=opportunity(industry="retail"), headers=nw
    )
    assert changed.status == 409
    assert ErrorBody.model_validate(await changed.json()).error == "opportunity_exists"
    assert await api.end_offsets() == before
    # the same id from another originator is another opportunity
    other = await api.register("adatum", capabilities=["security"])
    assert (
        await api.client.post("/v1/opportunities", json=opportunity(), headers=other)
    ).status == 202


async def test_idempotency_key_replays_the_first_response(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    body = opportunity()
    del body["opportunity_id"]  # generated: without the key a retry would be a new opportunity
    headers = {**nw, "Idempotency-Key": "crm-retry-1"}
    first = await api.client.post("/v1/opportunities", json=body, headers=headers)
    assert first.status == 202
    before = await api.end_offsets()
    retry = await api.client.post("/v1/opportunities", json=body, headers=headers)
    assert retry.status == 202 and retry.headers["Idempotent-Replayed"] == "true"
    assert (await retry.json()) == (await first.json())
    reused = await api.client.post(
        "/v1/opportunities", json={**body, "industry": "retail"}, headers=headers
    )
    assert reused.status == 422 and (await reused.json())["error"] == "idempotency_key_reused"
    assert await api.end_offsets() == before
    assert (await first.json())["opportunity_id"].startswith("opp_")


async def test_rejected_opportunities_publish_nothing(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    before = await api.end_offsets()
    missing = await api.client.post("/v1/opportunities", json=opportunity())
    assert missing.status == 401
    admin = await api.client.post("/v1/opportunities", json=opportunity(), headers=api.admin)
    assert admin.status == 403  # the operator publishes as no partner
    bad = opportunity(
        needs=["teleportation"],
        deal_size={"amount": 12.5, "currency": "usd"},
        customer={"company": "Acme", "domain": "not a domain"},
        max_partners=0,
    )
    resp = await api.client.post("/v1/opportunities", json=bad, headers=nw)
    assert resp.status == 422
    fields = {e.field for e in ErrorBody.model_validate(await resp.json()).errors}
    assert {"needs.0", "deal_size.amount", "deal_size.currency", "customer.domain",
            "max_partners"} <= fields  # fmt: skip
    unreal = opportunity(region="XX", deal_size={"amount": "1.00", "currency": "ABC"})
    resp = await api.client.post("/v1/opportunities", json=unreal, headers=nw)
    assert resp.status == 422
    assert {(e.field, e.type) for e in ErrorBody.model_validate(await resp.json()).errors} == {
        ("region", "iso3166_country"),
        ("deal_size.currency", "iso4217_currency"),
    }
    unknown = await api.client.post("/v1/opportunities", json={**opportunity(), "x": 1}, headers=nw)
    assert unknown.status == 422 and (await unknown.json())["errors"][0]["field"] == "x"
    cross = opportunity(needs=["storage"], retains=["storage"])
    resp = await api.client.post("/v1/opportunities", json=cross, headers=nw)
    assert resp.status == 422
    big = opportunity(title="t" * 100, customer={**opportunity()["customer"], "company": "c" * 190})
    big["customer"]["contacts"] = [{"name": "n" * 200, "role": "r" * 100}] * 300
    resp = await api.client.post("/v1/opportunities", data=orjson.dumps(big), headers=nw)
    assert resp.status == 413
    assert await api.end_offsets() == before


async def test_only_the_originator_sees_an_opportunity(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    other = await api.register("contoso")
    await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    resp = await api.client.get("/v1/opportunities/nw-0001", headers=other)
    assert resp.status == 404
    assert "Acme" not in await resp.text()
    assert (await api.client.get("/v1/opportunities/nw-0001")).status == 401
    # the operator names the originator explicitly
    ops = await api.client.get("/v1/opportunities/nw-0001?originator=northwind", headers=api.admin)
    assert ops.status == 200


async def test_offers_show_up_for_the_originator_and_withdrawal(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    await api.register("contoso")
    await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    offer = await api.offer("northwind", "nw-0001", "contoso")
    view = OpportunityView.model_validate(
        await (await api.client.get("/v1/opportunities/nw-0001", headers=nw)).json()
    )
    assert view.status == "offered"
    assert [(o.partner_id, o.status, o.referral_id) for o in view.offers] == [
        ("contoso", "offered", offer.referral_id)
    ]
    resp = await api.client.post(
        "/v1/opportunities/nw-0001/withdraw", json={"reason": "lost budget"}, headers=nw
    )
    assert resp.status == 202
    view = OpportunityView.model_validate(
        await (await api.client.get("/v1/opportunities/nw-0001", headers=nw)).json()
    )
    assert view.status == "withdrawn" and view.withdrawn is not None
    before = await api.end_offsets()
    again = await api.client.post("/v1/opportunities/nw-0001/withdraw", json={}, headers=nw)
    assert again.status == 202 and await api.end_offsets() == before
