"""Microsoft Partner Center and AWS Partner Central documents over the API, both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

import connectors.interop
from connectors.http.models import ErrorBody, InteropAccepted
from tests.integration.api.conftest import Harness

pytestmark = pytest.mark.kafka

SAMPLES = Path(connectors.interop.__file__).resolve().parent / "samples"
MS = "/v1/interop/microsoft/referrals"
AWS = "/v1/interop/aws/opportunities"


def _sample(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((SAMPLES / name).read_bytes())
    return doc


async def test_a_partner_center_referral_becomes_the_callers_opportunity(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    resp = await api.client.post(MS, json=_sample("microsoft_referral_incoming.json"), headers=nw)
    assert resp.status == 202, await resp.text()
    body = InteropAccepted.model_validate(await resp.json())
    assert body.originator == "northwind" and body.opportunity_id == "CRM-OPP-000123"
    assert not body.duplicate and body.format == "microsoft"
    # what the opportunity has no place for is said, by the document's own paths
    assert {"status", "substatus", "qualification", "customerProfile.address.city"} <= set(
        body.dropped
    )
    assert "customerProfile.name" not in body.dropped
    view = await (
        await api.client.get(f"/v1/opportunities/{body.opportunity_id}", headers=nw)
    ).json()
    assert view["opportunity"]["customer"]["company"] == "Contoso Retail Ltd"
    assert view["opportunity"]["region"] == "US-CA"
    again = await api.client.post(MS, json=_sample("microsoft_referral_incoming.json"), headers=nw)
    assert again.status == 202 and (await again.json())["duplicate"] is True

    # ... and read back in that shape, or AWS's, each saying what it drops
    as_ms = await api.client.get(
        f"/v1/opportunities/{body.opportunity_id}?format=microsoft", headers=nw
    )
    ms = await as_ms.json()
    assert ms["referral"]["externalReferenceId"] == "CRM-OPP-000123" and ms["dropped"]
    assert ms["referral"]["customerProfile"]["name"] == "Contoso Retail Ltd"
    as_aws = await api.client.get(f"/v1/opportunities/{body.opportunity_id}?format=aws", headers=nw)
    aws = await as_aws.json()
    assert aws["opportunity"]["PartnerOpportunityIdentifier"] == "CRM-OPP-000123"
    assert any("monthly" in d for d in aws["dropped"])
    bad = await api.client.get(f"/v1/opportunities/{body.opportunity_id}?format=sap", headers=nw)
    assert bad.status == 400


async def test_an_aws_opportunity_becomes_the_callers_opportunity(api: Harness) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    resp = await api.client.post(AWS, json=_sample("aws_opportunity.json"), headers=nw)
    assert resp.status == 202, await resp.text()
    body = InteropAccepted.model_validate(await resp.json())
    assert body.opportunity_id == "CRM-OPP-000456" and body.format == "aws"
    assert "Project.CustomerBusinessProblem" in body.dropped
    assert "PrimaryNeedsFromAws" in body.dropped


async def test_documents_that_do_not_map_or_callers_that_may_not_publish_nothing(
    api: Harness,
) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    before = await api.end_offsets()
    no_consent = _sample("microsoft_referral_incoming.json")
    no_consent["consent"]["consentToShareInfo"] = False
    resp = await api.client.post(MS, json=no_consent, headers=nw)
    assert resp.status == 422
    fields = {e.field for e in ErrorBody.model_validate(await resp.json()).errors}
    assert fields == {"consent.consentToShareInfo"}
    rejected = _sample("aws_opportunity.json")
    rejected["LifeCycle"]["ReviewStatus"] = "Rejected"
    assert (await api.client.post(AWS, json=rejected, headers=nw)).status == 422
    not_an_object = {**nw, "Content-Type": "application/json"}
    assert (await api.client.post(MS, data=b"[1]", headers=not_an_object)).status == 400
    assert (await api.client.post(AWS, json=_sample("aws_opportunity.json"))).status == 401
    admin = await api.client.post(AWS, json=_sample("aws_opportunity.json"), headers=api.admin)
    assert admin.status == 403  # the operator acts as no partner
    assert await api.end_offsets() == before


async def test_leads_read_as_partner_center_referrals_or_aws_opportunities(api: Harness) -> None:
    contoso = await api.register("contoso")
    offer = await api.offer("northwind", "nw-1", "contoso")
    ms = await (await api.client.get("/v1/leads?format=microsoft", headers=contoso)).json()
    (referral,) = ms["leads"]
    assert (referral["status"], referral["substatus"]) == ("New", "Received")
    assert "name" not in referral["customerProfile"] and ms["dropped"]  # not accepted yet
    customer = {"company": "Acme Health", "domain": "acme-health.example", "contacts": []}
    await api.accepted(offer, customer)
    aws = await (await api.client.get("/v1/leads?format=aws", headers=contoso)).json()
    (doc,) = aws["leads"]
    assert doc["Customer"]["Account"]["CompanyName"] == "Acme Health"
    assert doc["Id"] == offer.referral_id and aws["dropped"]
    assert (await api.client.get("/v1/leads?format=csv", headers=contoso)).status == 400
