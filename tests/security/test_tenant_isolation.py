"""Tenant isolation across every route: a partner never reads or acts on another partner's data.

Bravo publishes an opportunity, which is offered to Charlie. Alpha, a third partner, then tries
every route of the API on Bravo's and Charlie's data (and Bravo on Charlie's lead). Every attempt
is refused (401/403/404, or 422 before any lookup), nothing is published by them, and no body
names the victims' customer. The route table below must list every route of the app: a new route
fails this test until it is classified here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka

ALPHA, BRAVO, CHARLIE = "alpha-net", "bravo-store", "charlie-store"
SECRET_COMPANY = "Zanzibar Secret Holdings"
REFUSED = {401, 403, 404}

# (method, route) -> how a stranger calls it: path parameters are the victims' ids.
ATTACKS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/opportunities/{opportunity_id}"): {},
    ("POST", "/v1/opportunities/{opportunity_id}/withdraw"): {"json": {"reason": "mine now"}},
    ("GET", "/v1/leads/{referral_id}"): {},
    ("POST", "/v1/referrals/{referral_id}/accept"): {"json": {}},
    ("POST", "/v1/referrals/{referral_id}/decline"): {"json": {"reason": "not_a_fit"}},
    ("POST", "/v1/referrals/{referral_id}/outcome"): {
        "json": {"status": "won", "amount": "100.00", "currency": "USD"}
    },
    ("GET", "/v1/partners/{partner_id}"): {},
    ("PUT", "/v1/partners/{partner_id}"): {
        "json": {
            "name": "Hijacked",
            "kind": "reseller",
            "capabilities": ["storage"],
            "regions": ["US"],
        }
    },
    ("POST", "/v1/partners/{partner_id}/api-key"): {},
    ("DELETE", "/v1/partners/{partner_id}/api-key"): {},
    ("GET", "/v1/partners/{partner_id}/scorecard"): {},
    ("GET", "/v1/partners/{partner_id}/webhook"): {},
    ("PUT", "/v1/partners/{partner_id}/webhook"): {"json": {"url": "https://example.com/hook"}},
    ("DELETE", "/v1/partners/{partner_id}/webhook"): {},
    ("GET", "/v1/partners/{partner_id}/webhook/deliveries"): {},
    ("POST", "/v1/crm/hubspot/{partner_id}"): {"json": [{"objectId": 1}]},
    ("POST", "/v1/crm/salesforce/{partner_id}"): {"json": {"Id": "006x"}},
    ("PATCH", "/v1/partners/{partner_id}"): {"json": {"accepting": False}},
    ("POST", "/v1/opportunities/{opportunity_id}/reroute"): {"json": {}},
    ("GET", "/v1/partners/{partner_id}/statement"): {},
    # the partnership between Bravo and Charlie, tried by Alpha
    ("GET", "/v1/partnerships/{partnership_id}"): {},
    ("POST", "/v1/partnerships/{partnership_id}/accept"): {"json": {}},
    ("POST", "/v1/partnerships/{partnership_id}/end"): {"json": {}},
    ("PUT", "/v1/partnerships/{partnership_id}/terms"): {
        "json": {"referral_fee": {"percent": "50"}}
    },
    ("POST", "/v1/fees/{fee_id}/settle"): {"json": {"reference": "INV-1"}},
    # the operator's routes, with a partner's key
    ("GET", "/v1/admin/partners"): {},
    ("GET", "/v1/admin/opportunities"): {},
    ("GET", "/v1/admin/opportunities/{originator}/{opportunity_id}"): {},
    ("POST", "/v1/admin/opportunities/{originator}/{opportunity_id}/resolve"): {
        "json": {"decision": "reject", "reason": "mine"}
    },
    ("PUT", "/v1/terms/default"): {"json": {"referral_fee": {"percent": "50"}}},
    ("POST", "/v1/admin/partners/{partner_id}/certifications/verify"): {
        "json": {"vendor": "netapp", "capability": "storage"}
    },
    ("PUT", "/v1/admin/partners/{partner_id}/capacity-cap"): {"json": {"capacity_cap": 100}},
    ("GET", "/v1/admin/webhook-deliveries"): {},
    ("POST", "/v1/admin/webhook-deliveries/{webhook_id}/redrive"): {},
}
# Routes whose answer depends on the caller only (checked below for leaks) or carries no tenant
# data at all.
OWN_DATA = {
    ("GET", "/v1/leads"),
    ("GET", "/v1/leads/stream"),
    ("POST", "/v1/opportunities"),
    ("GET", "/v1/me"),
    ("POST", "/v1/interop/aws/opportunities"),  # published as the caller's own
    ("POST", "/v1/interop/microsoft/referrals"),
    ("GET", "/v1/directory"),  # the caller's long-list: public profile fields only
    ("GET", "/v1/fees"),
    ("GET", "/v1/partnerships"),
    ("POST", "/v1/partnerships"),  # proposed by the caller
    ("GET", "/v1/terms/default"),  # the network's default terms: the same for every partner
}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/livez"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/status"),
    ("GET", "/status/status.js"),
    ("GET", "/v1/status/summary"),
    ("GET", "/inbox"),
    ("GET", "/inbox/"),
    ("GET", "/inbox/{name}"),
}


def _routes(api: Harness) -> set[tuple[str, str]]:
    app = api.client.server.app
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }


async def test_every_route_is_classified(api: Harness) -> None:
    unknown = _routes(api) - set(ATTACKS) - OWN_DATA - PUBLIC
    assert not unknown, f"classify these routes in the isolation test: {sorted(unknown)}"


async def _setup(api: Harness) -> tuple[dict[str, dict[str, str]], str, str]:
    keys = {
        ALPHA: await api.register(ALPHA, capabilities=["networking"]),
        BRAVO: await api.register(BRAVO, capabilities=["networking"]),
        CHARLIE: await api.register(CHARLIE),
    }
    body = opportunity(opportunity_id="b-opp-1")
    body["customer"]["company"] = SECRET_COMPANY
    resp = await api.client.post("/v1/opportunities", json=body, headers=keys[BRAVO])
    assert resp.status == 202, await resp.text()
    offer = await api.offer(BRAVO, "b-opp-1", CHARLIE)
    await api.accepted(offer, body["customer"])  # Charlie now holds the customer's identity
    proposed = await api.client.post(
        "/v1/partnerships",
        json={"partner_id": CHARLIE, "terms": {"referral_fee": {"percent": "10"}}},
        headers=keys[BRAVO],
    )
    assert proposed.status == 201, await proposed.text()
    api.partnership_id = (await proposed.json())["partnership_id"]
    return keys, "b-opp-1", offer.referral_id


async def test_a_stranger_can_neither_read_nor_act_on_another_partners_data(api: Harness) -> None:
    keys, opportunity_id, referral = await _setup(api)
    before = await api.end_offsets()
    params = {
        "opportunity_id": opportunity_id,
        "referral_id": referral,
        "originator": BRAVO,
        "partnership_id": api.partnership_id,
        "fee_id": "fee_0123456789abcdef0123",
        "webhook_id": f"{referral}.offered",
    }
    failures = []
    for (method, route), kwargs in ATTACKS.items():
        for attacker, victim in ((ALPHA, BRAVO), (ALPHA, CHARLIE), (BRAVO, CHARLIE)):
            if "{referral_id}" in route and victim != CHARLIE:
                continue  # the lead is Charlie's
            if "{opportunity_id}" in route and victim != BRAVO:
                continue  # the opportunity is Bravo's
            if ("{partnership_id}" in route or "/admin/" in route) and attacker != ALPHA:
                continue  # the partnership is Bravo's and Charlie's; admin routes: one try
            path = route.format(partner_id=victim, **params)
            resp = await api.client.request(method, path, headers=keys[attacker], **kwargs)
            text = await resp.text()
            if resp.status not in REFUSED and not (resp.status == 422 and "{" in route):
                failures.append(f"{attacker} {method} {path} -> {resp.status} {text[:120]}")
            if SECRET_COMPANY in text:
                failures.append(f"{attacker} {method} {path} leaked the customer")
    assert not failures, "\n".join(failures)
    # the same reads by the rightful owner succeed: the refusals above are about who asks
    owner_reads = {
        f"/v1/opportunities/{opportunity_id}": BRAVO,
        f"/v1/leads/{referral}": CHARLIE,
        f"/v1/partners/{BRAVO}": BRAVO,
        f"/v1/partners/{CHARLIE}/scorecard": CHARLIE,
    }
    for path, owner in owner_reads.items():
        resp = await api.client.get(path, headers=keys[owner])
        assert resp.status == 200, (path, resp.status, await resp.text())
    after = await api.end_offsets()
    assert after["partnerships"] == before["partnerships"], "a stranger touched a partnership"
    assert after["responses"] == before["responses"], "a refused command was published"
    assert after["opportunities"] == before["opportunities"]
    assert after["credentials"] == before["credentials"], "a stranger touched an API key"


async def test_lists_show_only_the_callers_own_data(api: Harness) -> None:
    keys, _, referral = await _setup(api)
    own = await (await api.client.get("/v1/leads", headers=keys[CHARLIE])).json()
    assert [lead["referral_id"] for lead in own["leads"]] == [referral]
    for stranger in (ALPHA, BRAVO):
        resp = await api.client.get("/v1/leads", headers=keys[stranger])
        assert resp.status == 200
        text = await resp.text()
        assert referral not in text and SECRET_COMPANY not in text
    for method, route in sorted(PUBLIC):
        resp = await api.client.request(method, route, headers=keys[ALPHA])
        text = await resp.text()
        assert SECRET_COMPANY not in text, f"{route} leaks a customer"
        assert referral not in text, f"{route} names a referral"


async def test_publishing_cannot_impersonate_another_originator(api: Harness) -> None:
    keys, _, _ = await _setup(api)
    body = opportunity(opportunity_id="forged-1")
    body["originator"] = BRAVO
    resp = await api.client.post("/v1/opportunities", json=body, headers=keys[ALPHA])
    if resp.status == 202:  # accepted only as Alpha's own opportunity
        assert (await api.client.get("/v1/opportunities/forged-1", headers=keys[BRAVO])).status in (
            403,
            404,
        )
    else:
        assert resp.status in (400, 422), await resp.text()
