"""Contract tests: the directory look-up (listed, complementary, non-competing, public fields)."""

from __future__ import annotations

import orjson
import pytest

from connectors.http.commerce_models import DirectoryList
from tests.integration.api.conftest import Harness

pytestmark = pytest.mark.kafka

PUBLIC = {
    "partner_id", "name", "kind", "capabilities", "regions", "certifications",
    "score", "reasons", "partnership",
}  # fmt: skip


async def _network(api: Harness) -> dict[str, str]:
    me = await api.register(
        "north", capabilities=["networking"], regions=["DE"], competitors=["rival"]
    )
    await api.register("storage-de", name="Storage DE", capabilities=["storage", "backup"],
                       regions=["DE"], refuses=["someone-else"], capacity=7)  # fmt: skip
    await api.register("storage-eu", capabilities=["storage", "backup", "cloud"], regions=["DE"])
    await api.register("hidden", capabilities=["storage", "backup"], regions=["DE"], listed=False)
    await api.register("rival", capabilities=["storage", "backup"], regions=["DE"])
    await api.register("netco", capabilities=["storage", "backup", "networking"], regions=["DE"])
    await api.register("refuser", capabilities=["storage", "backup"], regions=["DE"],
                       refuses=["north"])  # fmt: skip
    await api.register("us-only", capabilities=["storage", "backup"], regions=["US"])
    await api.register("storage-only", capabilities=["storage"], regions=["DE"])
    return me


async def test_the_long_list_is_ranked_public_and_never_shows_competitors(api: Harness) -> None:
    me = await _network(api)
    resp = await api.client.get("/v1/directory?needs=storage,backup&region=DE", headers=me)
    assert resp.status == 200, await resp.text()
    raw = await resp.read()
    body = DirectoryList.model_validate_json(raw)
    ids = [p.partner_id for p in body.partners]
    # storage-de fits best (offers exactly the needs); nobody unlisted, competing, refusing,
    # outside the region, offering only part of the needs, or the caller itself
    assert ids == ["storage-de", "storage-eu"]
    scores = [p.score for p in body.partners]
    assert scores == sorted(scores, reverse=True)
    for entry in orjson.loads(raw)["partners"]:
        assert set(entry) == PUBLIC
        assert entry["partnership"] is None
        total = sum(r["contribution"] for r in entry["reasons"])
        assert abs(total - entry["score"]) < 1e-3
    for private in (b"capacity", b"competitors", b"refuses", b"accepting", b"api_key", b"rival",
                    b"someone-else", b"hidden", b"of a capacity of 7"):  # fmt: skip
        assert private not in raw, private


async def test_the_partnership_status_shows_and_pages_hold_everyone(api: Harness) -> None:
    me = await _network(api)
    resp = await api.client.post(
        "/v1/partnerships",
        json={"partner_id": "storage-eu", "terms": {"referral_fee": {"percent": "5"}}},
        headers=me,
    )
    assert resp.status == 201
    first = await (
        await api.client.get(
            "/v1/directory?needs=storage&needs=backup&region=DE&limit=1", headers=me
        )
    ).json()
    assert len(first["partners"]) == 1 and first["next"]
    second = await (
        await api.client.get(
            f"/v1/directory?needs=storage,backup&region=DE&limit=1&next={first['next']}",
            headers=me,
        )
    ).json()
    assert second["next"] is None
    by_id = {p["partner_id"]: p for p in first["partners"] + second["partners"]}
    assert by_id["storage-eu"]["partnership"] == "proposed"
    assert by_id["storage-de"]["partnership"] is None


async def test_unlisting_removes_a_partner_and_bad_queries_are_422(api: Harness) -> None:
    me = await _network(api)
    from tests.integration.api.conftest import profile

    resp = await api.client.put(
        "/v1/partners/storage-de",
        json=profile(capabilities=["storage", "backup"], regions=["DE"], listed=False),
        headers=api.admin,
    )
    assert resp.status == 200
    body = await (
        await api.client.get("/v1/directory?needs=storage,backup&region=DE", headers=me)
    ).json()
    assert [p["partner_id"] for p in body["partners"]] == ["storage-eu"]
    for query, field in (
        ("region=DE", "needs"),
        ("needs=storage&region=XX", "region"),
        ("needs=teleportation&region=DE", "needs.0"),
        ("needs=storage", "region"),
    ):
        bad = await api.client.get(f"/v1/directory?{query}", headers=me)
        assert bad.status == 422, query
        assert field in [e["field"] for e in (await bad.json())["errors"]], query
    assert (await api.client.get("/v1/directory?needs=storage&region=DE",
                                 headers=api.admin)).status == 403  # fmt: skip
    assert (await api.client.get("/v1/directory?needs=storage&region=DE")).status == 401
