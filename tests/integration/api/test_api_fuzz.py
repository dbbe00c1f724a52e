"""Never a 500 for bad input, and a refused request publishes nothing: mutated bodies on every
write route (seeded, so a failure replays). A mutation that happens to be valid may succeed."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

from tests.integration.api.conftest import Harness, opportunity, profile

pytestmark = pytest.mark.kafka

ODD_VALUES: list[Any] = [
    None, True, 0, -1, 10**20, 1.5e308, "", " ", "x" * 5000, "\u0000", "🙂", [], {}, [None],
    {"a": {"b": {"c": []}}}, "2027-02-30", "NaN", "-0.00", "1e3", "US-", "ref_", "../..",
]  # fmt: skip


def _aws_sample() -> dict[str, Any]:
    from pathlib import Path

    import connectors.interop

    path = Path(connectors.interop.__file__).resolve().parent / "samples" / "aws_opportunity.json"
    doc: dict[str, Any] = orjson.loads(path.read_bytes())
    return doc


def _mutations(base: dict[str, Any], rng: random.Random, n: int) -> list[bytes]:
    out: list[bytes] = [b"", b"null", b"[]", b'"x"', b"{", b"\xff\xfe", b"{}" * 3]
    for _ in range(n):
        body = orjson.loads(orjson.dumps(base))
        for _ in range(rng.randint(1, 3)):
            key = rng.choice([*body.keys(), "unexpected"])
            if rng.random() < 0.2 and key in body:
                del body[key]
            else:
                body[key] = rng.choice(ODD_VALUES)
        out.append(json.dumps(body).encode())  # stdlib: orjson refuses ints > 64 bits
    return out


async def test_mutated_bodies_are_refused_cleanly_and_publish_nothing(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    contoso = await api.register("contoso")
    offer = await api.offer("northwind", "nw-0001", "contoso")
    published = await api.client.post(
        "/v1/opportunities", json=opportunity(opportunity_id="nw-0010"), headers=nw
    )
    assert published.status == 202  # resolved and rerouted below (both refused: 409)
    rng = random.Random(6)
    routes = [
        ("PUT", "/v1/partners/contoso", profile(), contoso),
        ("POST", "/v1/opportunities", opportunity(opportunity_id="nw-0009"), nw),
        ("POST", f"/v1/referrals/{offer.referral_id}/decline", {"reason": "timing"}, contoso),
        (
            "POST",
            f"/v1/referrals/{offer.referral_id}/outcome",
            {"status": "lost", "reason": "price"},
            contoso,
        ),
        ("PATCH", "/v1/partners/contoso", {"capacity": 3, "accepting": False}, contoso),
        (
            "POST",
            "/v1/admin/opportunities/northwind/nw-0010/resolve",
            {"decision": "route", "reason": "checked"},
            api.admin,
        ),
        ("POST", "/v1/opportunities/nw-0010/reroute", {"note": "a new partner joined"}, nw),
        ("POST", "/v1/interop/aws/opportunities", _aws_sample(), nw),
    ]
    statuses: set[int] = set()
    for method, path, base, headers in routes:
        for data in _mutations(base, rng, 40):
            before = await api.end_offsets()
            resp = await api.client.request(
                method, path, data=data, headers={**headers, "Content-Type": "application/json"}
            )
            statuses.add(resp.status)
            assert resp.status < 500, (path, data[:200], await resp.text())
            if resp.status >= 400:  # refused: a JSON error body, and nothing on the bus
                assert resp.status in {400, 409, 413, 422}, (path, data[:200])
                assert set(await resp.json()) == {"error", "message", "errors"}
                assert await api.end_offsets() == before, (path, data[:200])
    assert {400, 422} <= statuses
