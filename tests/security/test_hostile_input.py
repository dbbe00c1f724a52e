"""Hostile text through the API: a 422 naming the field, nothing published (issue 17, item 7).

NUL, C0 controls, ANSI escapes and bidi overrides used to be stored verbatim and sent to
partners; ``industry`` was free text in the teaser; ``expected_close`` took 0001-01-01.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from streams.settings import Settings
from tests.integration.api.conftest import Harness, opportunity, profile
from tests.security.conftest import harness_with

pytestmark = pytest.mark.kafka

CUSTOMER = {"company": "Acme", "domain": "acme.example"}
HOSTILE: list[tuple[dict[str, Any], str]] = [
    ({"title": "Renewal\x00"}, "title"),
    ({"title": "\x1b[2J\x1b[31mURGENT"}, "title"),
    ({"title": "invoice\u202egpj.exe"}, "title"),
    ({"customer": {"company": "Acme\x07", "domain": "acme.example"}}, "customer.company"),
    ({"customer": {**CUSTOMER, "contacts": [{"name": "Dana\u2066\u2069"}]}}, "contacts"),
    ({"industry": "<img src=x onerror=alert(1)>"}, "industry"),
    ({"industry": "Acme Health's hospital group"}, "industry"),
    ({"expected_close": "0001-01-01"}, "expected_close"),
    ({"expected_close": "9999-12-31"}, "expected_close"),
]


async def test_hostile_opportunities_are_refused_naming_the_field(api: Harness) -> None:
    key = await api.register("hostile-originator")
    before = await api.end_offsets()
    for i, (over, field) in enumerate(HOSTILE):
        body = opportunity(opportunity_id=f"hostile-{i}", **over)
        resp = await api.client.post("/v1/opportunities", json=body, headers=key)
        answer = await resp.json()
        assert resp.status == 422, (over, answer)
        assert any(e["field"].startswith(field) or field in e["field"] for e in answer["errors"])
    assert await api.end_offsets() == before


async def test_hostile_partner_profiles_and_notes_are_refused(api: Harness) -> None:
    before = await api.end_offsets()
    for over in ({"name": "Contoso\x1b]0;pwned\x07"}, {"industries": ["retail", "<b>x</b>"]}):
        resp = await api.client.put(
            "/v1/partners/hostile-profile", json=profile(**over), headers=api.admin
        )
        assert resp.status == 422, await resp.text()
    assert await api.end_offsets() == before
    ok = await api.client.put(
        "/v1/partners/hostile-profile", json=profile(industries=["retail"]), headers=api.admin
    )
    assert ok.status == 201, await ok.text()


@pytest.fixture
async def budgeted(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(settings, conflict_checks_per_hour=3):
        yield harness


async def test_probing_customer_domains_is_rate_limited_per_partner(budgeted: Harness) -> None:
    """Conflict checks cost a budget of distinct customers per hour (item 6)."""
    prober = await budgeted.register("domain-prober")
    honest = await budgeted.register("honest-originator")

    def probe(i: int, domain: str) -> dict[str, Any]:
        return opportunity(opportunity_id=f"probe-{i}", customer={**CUSTOMER, "domain": domain})

    for i in range(3):
        resp = await budgeted.client.post(
            "/v1/opportunities", json=probe(i, f"target{i}.example"), headers=prober
        )
        assert resp.status == 202, await resp.text()
    before = await budgeted.end_offsets()
    refused = await budgeted.client.post(
        "/v1/opportunities", json=probe(3, "target3.example"), headers=prober
    )
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert (await refused.json())["error"] == "conflict_checks_exhausted"
    assert await budgeted.end_offsets() == before
    again = await budgeted.client.post(
        "/v1/opportunities", json=probe(4, "target0.example"), headers=prober
    )
    assert again.status == 202  # a customer already checked this hour costs nothing
    other = await budgeted.client.post(
        "/v1/opportunities", json=probe(5, "target3.example"), headers=honest
    )
    assert other.status == 202
