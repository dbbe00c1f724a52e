"""Contract tests: partner registration, API keys (hashed, rotatable, revocable, persistent)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connectors.http.keys import hash_key
from connectors.http.models import ApiKeyIssued, ErrorBody, PartnerRegistered
from ops.api import build_api_app
from schemas.partner import PartnerProfile
from tests.integration.api.conftest import Harness, profile

pytestmark = pytest.mark.kafka


async def test_admin_registers_a_partner_and_its_key_works_immediately(api: Harness) -> None:
    before = await api.end_offsets()
    resp = await api.client.put("/v1/partners/contoso", json=profile(), headers=api.admin)
    assert resp.status == 201
    body = PartnerRegistered.model_validate(await resp.json())
    assert body.partner_id == "contoso" and body.version == 1 and body.api_key
    after = await api.end_offsets()
    assert after["partners"] == before["partners"] + 1
    assert after["credentials"] == before["credentials"] + 1
    # read-your-writes: the key works on the very next request
    me = await api.client.get("/v1/partners/contoso", headers=api.bearer(body.api_key))
    assert me.status == 200
    assert PartnerProfile.model_validate(await me.json()).name == "Contoso Storage"
    # only the hash is kept
    cred = api.state.views.keys.get("contoso")
    assert cred.key_hash == hash_key(body.api_key) and body.api_key not in cred.model_dump_json()


async def test_partner_updates_itself_with_increasing_versions(api: Harness) -> None:
    key = await api.register("contoso")
    resp = await api.client.put(
        "/v1/partners/contoso", json=profile(capacity=3, regions=["US", "CA"]), headers=key
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["version"] == 2 and body["capacity"] == 3 and "api_key" not in body
    # the same profile again changes nothing and publishes nothing
    before = await api.end_offsets()
    again = await api.client.put(
        "/v1/partners/contoso", json=profile(capacity=3, regions=["US", "CA"]), headers=key
    )
    assert again.status == 200 and (await again.json())["version"] == 2
    assert await api.end_offsets() == before
    admin = await api.client.put("/v1/partners/contoso", json=profile(), headers=api.admin)
    assert admin.status == 200 and (await admin.json())["version"] == 3


async def test_rejected_partner_requests_publish_nothing(api: Harness) -> None:
    contoso = await api.register("contoso")
    await api.register("fabrikam", capabilities=["networking"])
    before = await api.end_offsets()
    cases = [
        ({}, profile(), 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, profile(), 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, profile(), 401, "unauthorized"),
        (contoso, profile(), 403, "forbidden"),  # contoso updating fabrikam
    ]
    for headers, body, status, code in cases:
        resp = await api.client.put("/v1/partners/fabrikam", json=body, headers=headers)
        assert resp.status == status, await resp.text()
        assert ErrorBody.model_validate(await resp.json()).error == code
        if status == 401:
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    # a partner cannot register a new partner
    resp = await api.client.put("/v1/partners/newcomer", json=profile(), headers=contoso)
    assert resp.status == 403
    assert await api.end_offsets() == before


async def test_invalid_bodies_name_each_field_and_publish_nothing(api: Harness) -> None:
    before = await api.end_offsets()
    bad = profile(kind="wholesaler", regions=["usa"], capacity=-1)
    resp = await api.client.put("/v1/partners/contoso", json=bad, headers=api.admin)
    assert resp.status == 422
    err = ErrorBody.model_validate(await resp.json())
    assert {"kind", "regions.0", "capacity"} <= {e.field for e in err.errors}
    # regions are real ISO 3166-1 countries (subdivisions of one): each bad one named, with why
    unreal = profile(regions=["US", "UK", "ZZ-CA"])
    resp = await api.client.put("/v1/partners/contoso", json=unreal, headers=api.admin)
    assert resp.status == 422
    assert {(e.field, e.type) for e in ErrorBody.model_validate(await resp.json()).errors} == {
        ("regions.1", "iso3166_country"),
        ("regions.2", "iso3166_country"),
    }
    # malformed JSON: 400; not an object: 400; wrong content type: 415
    for data, ctype, status in (
        (b'{"name": ', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"name=x", "application/x-www-form-urlencoded", 415),
    ):
        resp = await api.client.put(
            "/v1/partners/contoso", data=data, headers={**api.admin, "Content-Type": ctype}
        )
        assert resp.status == status, await resp.text()
        assert (await resp.json())["error"] in {"malformed_json", "unsupported_media_type"}
    # a bad partner id in the path names the path parameter
    resp = await api.client.put("/v1/partners/Not%20Valid", json=profile(), headers=api.admin)
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "partner_id"
    # oversized: 413, whether announced by Content-Length or not
    huge = profile(name="x" * 70_000)
    resp = await api.client.put("/v1/partners/contoso", json=huge, headers=api.admin)
    assert resp.status == 413 and (await resp.json())["error"] == "payload_too_large"

    async def chunks():  # no Content-Length: the server counts while reading
        for _ in range(100):
            yield b" " * 1024

    resp = await api.client.put("/v1/partners/contoso", data=chunks(), headers=api.admin)
    assert resp.status == 413
    assert await api.end_offsets() == before


async def test_rotation_and_revocation(api: Harness) -> None:
    old = await api.register("contoso")
    rotated = await api.client.post("/v1/partners/contoso/api-key", headers=old)
    assert rotated.status == 201
    new = api.bearer(ApiKeyIssued.model_validate(await rotated.json()).api_key)
    assert (await api.client.get("/v1/partners/contoso", headers=old)).status == 401
    assert (await api.client.get("/v1/partners/contoso", headers=new)).status == 200
    # another partner cannot rotate or revoke contoso's key
    other = await api.register("fabrikam")
    assert (await api.client.post("/v1/partners/contoso/api-key", headers=other)).status == 403
    assert (await api.client.delete("/v1/partners/contoso/api-key", headers=other)).status == 403
    revoked = await api.client.delete("/v1/partners/contoso/api-key", headers=api.admin)
    assert revoked.status == 204
    assert (await api.client.get("/v1/partners/contoso", headers=new)).status == 401
    before = await api.end_offsets()
    again = await api.client.delete("/v1/partners/contoso/api-key", headers=api.admin)
    assert again.status == 204 and await api.end_offsets() == before
    reissued = await api.client.post("/v1/partners/contoso/api-key", headers=api.admin)
    key = api.bearer((await reissued.json())["api_key"])
    assert (await api.client.get("/v1/partners/contoso", headers=key)).status == 200


async def test_keys_survive_an_api_restart(api: Harness) -> None:
    key = await api.register("contoso")
    fresh = TestClient(TestServer(build_api_app(api.settings)))
    await fresh.start_server()
    try:
        resp = await fresh.get("/v1/partners/contoso", headers=key)
        assert resp.status == 200
        assert (await resp.json())["version"] == 1
    finally:
        await fresh.close()


async def test_metrics_count_requests_by_route_template_and_rejections(api: Harness) -> None:
    key = await api.register("contoso")
    await api.client.get("/v1/leads/ref_00000000000000000000", headers=key)
    await api.client.get("/v1/nowhere")
    text = await (await api.client.get("/metrics")).text()
    assert (
        'oppbus_http_requests_total{method="PUT",route="/v1/partners/{partner_id}",status="2xx"} 1.0'
        in text
    )
    assert 'route="/v1/leads/{referral_id}",status="4xx"' in text
    assert 'route="unmatched",status="4xx"' in text
    assert 'oppbus_api_published_total{topic="partners"} 1.0' in text
    assert 'oppbus_api_rejected_total{code="not_found"}' in text
    assert "ref_0000" not in text and "contoso" not in text  # no ids as labels
