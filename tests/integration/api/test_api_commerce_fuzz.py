"""Never a 500 for bad input on the partnership, terms, directory and fee routes, and a refused
request publishes nothing: mutated bodies and hostile query strings (seeded, so a failure replays)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from schemas.fees import FeeRecorded
from tests.integration.api.conftest import Harness
from tests.integration.api.test_api_fuzz import _mutations

pytestmark = pytest.mark.kafka

TERMS = {"referral_fee": {"percent": "10"}, "cap": {"amount": "100.00", "currency": "EUR"}}
HOSTILE = ["", "%00", "x" * 3000, "-1", "1e9", "🙂", "../..", "storage,,", "DE-", "null", "0"]


async def test_mutated_bodies_and_queries_are_refused_cleanly(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    south = await api.register("south")
    resp = await api.client.post(
        "/v1/partnerships", json={"partner_id": "south", "terms": TERMS}, headers=north
    )
    pid = (await resp.json())["partnership_id"]
    await api.client.post(f"/v1/partnerships/{pid}/accept", headers=south)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    fee = FeeRecorded(
        event_id="fee_0123456789abcdef0123.accrued",
        fee_id="fee_0123456789abcdef0123",
        kind="accrued",
        at=at,
        referral_id="ref_0123456789abcdef0123",
        opportunity_id="o-1",
        originator="north",
        payer="south",
        payee="north",
        amount=Decimal("10.00"),
        currency="EUR",
        terms_version=1,
        approve_at=at + timedelta(days=30),
    )
    await api.emit_to("fees", fee)
    rng = random.Random(20)
    writes = [
        ("POST", "/v1/partnerships", {"partner_id": "south", "terms": TERMS}, north),
        ("PUT", f"/v1/partnerships/{pid}/terms", TERMS, south),
        ("PUT", "/v1/terms/default", TERMS, api.admin),
        ("POST", f"/v1/fees/{fee.fee_id}/settle", {"reference": "R-1"}, north),
    ]
    for method, path, base, headers in writes:
        for data in _mutations(base, rng, 30):
            before = await api.end_offsets()
            resp = await api.client.request(
                method, path, data=data, headers={**headers, "Content-Type": "application/json"}
            )
            assert resp.status < 500, (path, data[:200], await resp.text())
            if resp.status >= 400:
                assert set(await resp.json()) == {"error", "message", "errors"}
                assert await api.end_offsets() == before, (path, data[:200])
    before = await api.end_offsets()
    for value in HOSTILE:
        for path in (
            f"/v1/directory?needs={value}&region={value}",
            f"/v1/directory?needs=storage&region=DE&limit={value}&next={value}",
            f"/v1/partnerships?limit={value}&next={value}&status={value}",
            f"/v1/fees?limit={value}&next={value}&status={value}",
            f"/v1/partners/north/statement?from={value}&to={value}",
            f"/v1/partnerships/{value}",
        ):
            resp = await api.client.get(path, headers=north)
            assert resp.status < 500, (path, await resp.text())
        for path in (f"/v1/partnerships/{value}/accept", f"/v1/fees/{value}/settle"):
            resp = await api.client.post(path, json={"reference": "x"}, headers=north)
            assert resp.status < 500, (path, await resp.text())
    assert await api.end_offsets() == before
