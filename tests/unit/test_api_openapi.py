"""The OpenAPI document: checked in, generated from the routes and models, valid 3.1 shape."""

from __future__ import annotations

import orjson

from connectors.http.openapi import DOCUMENT_PATH, build_document, render


def test_checked_in_document_matches_the_generated_one() -> None:
    assert DOCUMENT_PATH.read_bytes() == render(build_document()), (
        "regenerate with: python -m connectors.http.openapi --write"
    )


def test_every_design_route_is_documented() -> None:
    doc = build_document()
    assert doc["openapi"].startswith("3.1")
    wanted = {
        ("put", "/v1/partners/{partner_id}"),
        ("post", "/v1/opportunities"),
        ("get", "/v1/opportunities/{opportunity_id}"),
        ("get", "/v1/leads"),
        ("get", "/v1/leads/stream"),
        ("post", "/v1/referrals/{referral_id}/accept"),
        ("post", "/v1/referrals/{referral_id}/decline"),
        ("post", "/v1/referrals/{referral_id}/outcome"),
        ("get", "/v1/partners/{partner_id}/scorecard"),
        ("get", "/metrics"),
        ("get", "/healthz"),
        ("get", "/openapi.json"),
    }
    have = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert wanted <= have


def test_every_reference_resolves() -> None:
    doc = build_document()
    schemas = doc["components"]["schemas"]
    text = orjson.dumps(doc).decode()
    refs = {part.split('"')[0] for part in text.split('"$ref":"#/components/schemas/')[1:]}
    assert refs and refs <= set(schemas)
    assert {"PartnerProfileInput", "OpportunityInput", "Lead", "ErrorBody"} <= set(schemas)
    lead = schemas["Lead"]["properties"]
    for name in ("referral_id", "opportunity_id", "status", "teaser", "score", "reasons",
                 "expires_at", "customer"):  # fmt: skip
        assert name in lead
