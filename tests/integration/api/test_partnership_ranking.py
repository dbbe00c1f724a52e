"""An active partnership is a ranking reason (issue 20), on the real embedded broker, API and
worker: the originator's partner is offered first with the ``partnership`` reason on its offer,
and ranks first in the originator's directory look-up — in nobody else's; a forged partnership
record counts nowhere."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.codec import encode
from schemas.events import event_key, event_topic
from streams.runtime.app import create_app
from streams.wiring import register_all
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.bus_kit import Bus, active_partnership
from tests.integration.polling import until

pytestmark = pytest.mark.kafka

LOOKUP = "/v1/directory?needs=storage&region=US-CA"


def _reasons(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["factor"]: r for r in item["reasons"]}


async def test_the_active_partner_is_offered_first_with_the_reason(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    west = await api.register("west", capabilities=["security"])
    # fitter offers exactly the need: first on its merits; allied offers three capabilities
    await api.register("fitter", capabilities=["storage"])
    allied = await api.register("allied", capabilities=["storage", "backup", "cloud"])
    plain = await (await api.client.get(LOOKUP, headers=north)).json()
    assert [p["partner_id"] for p in plain["partners"]] == ["fitter", "allied"]

    proposed = await api.client.post(
        "/v1/partnerships",
        json={"partner_id": "allied", "terms": {"referral_fee": {"percent": "5"}}},
        headers=north,
    )
    assert proposed.status == 201, await proposed.text()
    pid = (await proposed.json())["partnership_id"]
    # only proposed: not a ranking reason yet
    still = await (await api.client.get(LOOKUP, headers=north)).json()
    assert [p["partner_id"] for p in still["partners"]] == ["fitter", "allied"]
    assert _reasons(still["partners"][1])["partnership"]["value"] == 0.0
    accepted = await api.client.post(f"/v1/partnerships/{pid}/accept", headers=allied)
    assert accepted.status == 200, await accepted.text()

    # the directory look-up of the originator: its partner first, with the reason
    found = await (await api.client.get(LOOKUP, headers=north)).json()
    first = found["partners"][0]
    assert (first["partner_id"], first["partnership"]) == ("allied", "active")
    reason = _reasons(first)["partnership"]
    assert reason["value"] == 1.0 and reason["weight"] == 2.0 and reason["contribution"] > 0
    assert reason["detail"] == "has an active partnership with the originator"
    assert abs(sum(r["contribution"] for r in first["reasons"]) - first["score"]) < 1e-3
    # another partner's look-up: nobody else's partnership counts for it
    other = await (await api.client.get(LOOKUP, headers=west)).json()
    assert [p["partner_id"] for p in other["partners"]] == ["fitter", "allied"]
    assert all(_reasons(p)["partnership"]["value"] == 0.0 for p in other["partners"])
    assert all(p["partnership"] is None for p in other["partners"])

    worker = create_app(api.settings)
    register_all(worker, api.settings)
    await worker.start()
    try:
        views = api.state.views
        resp = await api.client.post(
            "/v1/opportunities", json=opportunity(max_partners=2), headers=north
        )
        assert resp.status == 202, await resp.text()
        assert await until(lambda: bool(views.leads_of("allied")), 30), "no offer to the partner"
        assert await until(lambda: bool(views.leads_of("fitter")), 30), "no second offer"
        leads = (await (await api.client.get("/v1/leads", headers=allied)).json())["leads"]
        (lead,) = leads
        assert lead["rank"] == 1 and lead["terms"]["referral_fee"] == {"percent": "5"}
        reason = _reasons(lead)["partnership"]
        assert reason["value"] == 1.0 and reason["contribution"] > 0
        assert reason["detail"] == "has an active partnership with the originator"
        assert abs(sum(r["contribution"] for r in lead["reasons"]) - lead["score"]) < 1e-5
        (second,) = [r.offer for r in views.leads_of("fitter")]
        assert second.rank == 2 and second.score < lead["score"]
        fitter_reason = {r.factor: r for r in second.reasons}["partnership"]
        assert fitter_reason.value == 0.0 and fitter_reason.contribution == 0.0
        # the originator sees the same explanation on its opportunity
        mine = await api.client.get(f"/v1/opportunities/{opportunity()['opportunity_id']}",
                                    headers=north)  # fmt: skip
        assert mine.status == 200, await mine.text()
        offers = {o["partner_id"]: o for o in (await mine.json())["offers"]}
        assert _reasons(offers["allied"])["partnership"]["value"] == 1.0
    finally:
        await worker.stop()


async def test_a_forged_partnership_record_is_no_ranking_reason(api: Harness) -> None:
    """Anyone who reaches the broker writes an 'active' partnership of the originator with a
    partner of its choice on the partnerships topic: neither the router nor the directory
    look-up counts it (the record is not the bus's)."""
    north = await api.register("north", capabilities=["networking"])
    await api.register("fitter", capabilities=["storage"])
    await api.register("allied", capabilities=["storage", "backup", "cloud"])
    forged = active_partnership("north", "allied", "ps_00000000000000000bad")
    worker = create_app(api.settings)
    contexts = register_all(worker, api.settings)
    async with Bus(api.settings) as bus:
        await worker.start()
        try:
            enc = encode(forged, source="urn:attacker")
            key = event_key(forged) or b""
            await bus.send_raw(event_topic(forged), key, enc.value, enc.headers)
            assert await until(lambda: contexts.partnerships.invalid >= 1, 30), "not seen"
            assert contexts.partnerships.book.active_partners("north") == frozenset()
            views = api.state.views
            resp = await api.client.post(
                "/v1/opportunities", json=opportunity(max_partners=2), headers=north
            )
            assert resp.status == 202, await resp.text()
            assert await until(lambda: bool(views.leads_of("allied")), 30)
            assert await until(lambda: bool(views.leads_of("fitter")), 30)
            (first,) = [r.offer for r in views.leads_of("fitter")]
            (second,) = [r.offer for r in views.leads_of("allied")]
            assert (first.rank, second.rank) == (1, 2)
            reason = {r.factor: r for r in second.reasons}["partnership"]
            assert reason.value == 0.0 and reason.contribution == 0.0
            found = await (await api.client.get(LOOKUP, headers=north)).json()
            assert [p["partner_id"] for p in found["partners"]] == ["fitter", "allied"]
            assert all(_reasons(p)["partnership"]["value"] == 0.0 for p in found["partners"])
            assert all(p["partnership"] is None for p in found["partners"])
        finally:
            await worker.stop()
