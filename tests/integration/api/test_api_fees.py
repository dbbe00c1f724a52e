"""Contract tests: fee entries, settling (payee only, approved only), statements (JSON and CSV)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from schemas.fees import FeeRecorded
from schemas.ids import referral_id
from streams.fees.ledger import fee_id_of
from tests.integration.api.conftest import Harness

pytestmark = pytest.mark.kafka

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _fee(payer: str, payee: str, amount: str, kind: str = "accrued", **over: object) -> FeeRecorded:
    rid = referral_id(payee, f"opp-{payer}", payer)
    fid = fee_id_of(rid, "won")
    fields: dict[str, object] = {
        "event_id": f"{fid}.{kind}",
        "fee_id": fid,
        "kind": kind,
        "at": T0 if kind == "accrued" else T0 + timedelta(days=30),
        "referral_id": rid,
        "opportunity_id": f"opp-{payer}",
        "originator": payee,
        "payer": payer,
        "payee": payee,
        "amount": Decimal(amount),
        "currency": "EUR",
        "terms_version": 1,
        "approve_at": T0 + timedelta(days=30),
        "basis": "10% of ...",
    }
    fields.update(over)
    return FeeRecorded.model_validate(fields)


async def test_fees_list_settle_and_statement(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    south = await api.register("south")
    east = await api.register("east", capabilities=["security"])
    pending = _fee("south", "north", "100.00")
    approved = _fee("east", "north", "40.00")
    back = _fee("north", "south", "30.00")
    await api.emit_to("fees", pending, approved, _fee("east", "north", "40.00", "approved"), back)
    await api.emit_to("fees", approved)  # a repeated append counts once
    mine = await (await api.client.get("/v1/fees", headers=north)).json()
    assert {(f["fee_id"], f["status"]) for f in mine["fees"]} == {
        (pending.fee_id, "pending"),
        (approved.fee_id, "approved"),
        (back.fee_id, "pending"),
    }
    assert set(mine["fees"][0]) >= {"fee_id", "referral_id", "payer", "payee", "amount",
                                    "currency", "status", "terms_version"}  # fmt: skip
    before = await api.end_offsets()
    # the payer cannot settle; a pending fee cannot be settled; a stranger sees nothing
    ref = {"reference": "SEPA-1"}
    assert (await api.client.post(f"/v1/fees/{approved.fee_id}/settle", json=ref,
                                  headers=east)).status == 403  # fmt: skip
    assert (await api.client.post(f"/v1/fees/{pending.fee_id}/settle", json=ref,
                                  headers=north)).status == 409  # fmt: skip
    assert (await api.client.post(f"/v1/fees/{approved.fee_id}/settle", json=ref,
                                  headers=south)).status == 404  # fmt: skip
    bad = await api.client.post(f"/v1/fees/{approved.fee_id}/settle", json={}, headers=north)
    assert bad.status == 422 and bad.content_type == "application/json"
    assert await api.end_offsets() == before
    done = await api.client.post(f"/v1/fees/{approved.fee_id}/settle", json=ref, headers=north)
    assert done.status == 200 and (await done.json())["status"] == "settled"
    after = await api.end_offsets()
    again = await api.client.post(f"/v1/fees/{approved.fee_id}/settle", json=ref, headers=north)
    assert again.status == 200 and await api.end_offsets() == after
    other = await api.client.post(
        f"/v1/fees/{approved.fee_id}/settle", json={"reference": "X"}, headers=north
    )
    assert other.status == 409
    # statement: north is owed 100 by south and 40 by east, owes south 30
    resp = await api.client.get(
        "/v1/partners/north/statement?from=2026-12-01&to=2026-12-01", headers=north
    )
    body = await resp.json()
    assert body["counterparties"] == [
        {"partner_id": "east", "currency": "EUR", "receivable": "40.00", "payable": "0.00",
         "net": "40.00"},
        {"partner_id": "south", "currency": "EUR", "receivable": "100.00", "payable": "30.00",
         "net": "70.00"},
    ]  # fmt: skip
    assert body["position"] == {"EUR": "110.00"}
    csv = await api.client.get(
        "/v1/partners/north/statement", headers={**north, "Accept": "text/csv"}
    )
    assert csv.content_type == "text/csv"
    lines = (await csv.text()).strip().splitlines()
    assert lines[0] == "partner_id,currency,receivable,payable,net" and len(lines) == 3
    outside = await (
        await api.client.get("/v1/partners/north/statement?from=2026-12-02", headers=north)
    ).json()
    assert outside["counterparties"] == []
    # only the partner itself or the operator
    assert (await api.client.get("/v1/partners/north/statement", headers=south)).status == 403
    ok = await api.client.get("/v1/partners/north/statement", headers=api.admin)
    assert ok.status == 200
    bad_day = await api.client.get("/v1/partners/north/statement?from=yesterday", headers=north)
    assert bad_day.status == 422 and (await bad_day.json())["errors"][0]["field"] == "from"
    everyone = await (await api.client.get("/v1/fees?limit=2", headers=api.admin)).json()
    assert len(everyone["fees"]) == 2 and everyone["next"]


async def _sse(resp: Any, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Read ``n`` SSE events: (event type, data)."""
    out: list[tuple[str, dict[str, Any]]] = []
    kind, data = "", b""
    async with asyncio.timeout(10):
        while len(out) < n:
            line = await resp.content.readline()
            if line.startswith(b"event: "):
                kind = line[7:].strip().decode()
            elif line.startswith(b"data: "):
                data = line[6:].strip()
            elif line == b"\n" and data:
                out.append((kind, orjson.loads(data)))
                data = b""
    return out


async def test_fee_changes_go_out_on_the_partners_lead_stream(api: Harness) -> None:
    north = await api.register("north", capabilities=["networking"])
    south = await api.register("south")
    east = await api.register("east", capabilities=["security"])
    stream = await api.client.get("/v1/leads/stream", headers=north)
    assert stream.status == 200
    fee = _fee("south", "north", "100.00")
    await api.emit_to("fees", fee)
    [(kind, body)] = await _sse(stream, 1)
    assert kind == "fee" and body["fee_id"] == fee.fee_id and body["status"] == "pending"
    await api.emit_to("fees", _fee("south", "north", "100.00", "approved"))
    [(kind, body)] = await _sse(stream, 1)
    assert kind == "fee" and body["status"] == "approved"
    stream.close()
    payer = await api.client.get("/v1/leads/stream", headers=south)
    [(kind, body)] = await _sse(payer, 1)  # the current state, once
    assert kind == "fee" and body["status"] == "approved"
    payer.close()
    stranger = await api.client.get("/v1/leads/stream", headers=east)
    line = b""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.5):
            while True:
                line = await stranger.content.readline()
                assert b"event: fee" not in line
    stranger.close()
