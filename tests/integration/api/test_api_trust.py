"""The operator's trust in profiles: verified certifications and the capacity cap (admin only)."""

from __future__ import annotations

import pytest

from schemas.partner import PartnerProfile
from tests.integration.api.conftest import Harness, profile

pytestmark = pytest.mark.kafka

PLATINUM = {
    "vendor": "NetApp",
    "capability": "storage",
    "level": "platinum",
    "expires_at": "2099-01-01T00:00:00Z",
}
VERIFY = "/v1/admin/partners/contoso/certifications/verify"
CAP = "/v1/admin/partners/contoso/capacity-cap"


async def test_a_partner_cannot_verify_its_own_certification(api: Harness) -> None:
    key = await api.register("contoso")
    before = await api.end_offsets()
    forged = profile(certifications=[{**PLATINUM, "status": "verified"}])
    resp = await api.client.put("/v1/partners/contoso", json=forged, headers=key)
    assert resp.status == 403
    body = await resp.json()
    assert body["errors"][0]["field"] == "certifications.0.status"
    for path, payload in (
        (VERIFY, {"vendor": "NetApp", "capability": "storage"}),
        (CAP, {"capacity_cap": 100_000}),
    ):
        denied = await api.client.request(
            "POST" if path == VERIFY else "PUT", path, json=payload, headers=key
        )
        assert denied.status == 403
    assert await api.end_offsets() == before  # nothing published


async def test_the_operator_verifies_and_the_partner_keeps_it_until_it_changes(
    api: Harness,
) -> None:
    key = await api.register("contoso")
    claimed = await api.client.put(
        "/v1/partners/contoso", json=profile(certifications=[PLATINUM]), headers=key
    )
    assert (await claimed.json())["certifications"][0]["status"] == "claimed"
    missing = await api.client.post(
        VERIFY, json={"vendor": "Dell", "capability": "storage"}, headers=api.admin
    )
    assert missing.status == 422 and (await missing.json())["errors"][0]["field"] == "vendor"
    ok = await api.client.post(
        VERIFY, json={"vendor": "netapp", "capability": "storage"}, headers=api.admin
    )
    assert ok.status == 200
    verified = PartnerProfile.model_validate(await ok.json())
    assert verified.certifications[0].status == "verified"
    # the partner re-sends its profile as it reads it, or unchanged: still verified
    again = await api.client.put(
        "/v1/partners/contoso",
        json=profile(certifications=[{**PLATINUM, "status": "verified"}], capacity=4),
        headers=key,
    )
    assert again.status == 200
    assert (await again.json())["certifications"][0]["status"] == "verified"
    # a changed certification (a later expiry) is a new claim
    later = {**PLATINUM, "expires_at": "2100-01-01T00:00:00Z"}
    changed = await api.client.put(
        "/v1/partners/contoso", json=profile(certifications=[later]), headers=key
    )
    assert (await changed.json())["certifications"][0]["status"] == "claimed"


async def test_the_operator_caps_capacity_and_the_partner_cannot_lift_it(api: Harness) -> None:
    key = await api.register("contoso")
    capped = await api.client.put(CAP, json={"capacity_cap": 2}, headers=api.admin)
    assert capped.status == 200 and (await capped.json())["capacity_cap"] == 2
    bigger = await api.client.put(
        "/v1/partners/contoso", json=profile(capacity=100_000), headers=key
    )
    body = await bigger.json()
    assert body["capacity"] == 100_000 and body["capacity_cap"] == 2  # the cap stays
    sneaky = await api.client.put(
        "/v1/partners/contoso", json=profile(capacity_cap=None), headers=key
    )
    assert sneaky.status == 422  # not a field of the partner's profile
    bad = await api.client.put(CAP, json={"capacity_cap": -1}, headers=api.admin)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "capacity_cap"
    lifted = await api.client.put(CAP, json={"capacity_cap": None}, headers=api.admin)
    assert (await lifted.json())["capacity_cap"] is None
    unknown = await api.client.put(
        "/v1/admin/partners/nobody/capacity-cap", json={"capacity_cap": 1}, headers=api.admin
    )
    assert unknown.status == 404
