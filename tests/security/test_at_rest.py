"""Customers and secrets at rest: never in clear on any topic, yet every bus process reads them.

On the real embedded broker with the API and a worker: a partner sets a webhook with a known
signing secret, another publishes an opportunity with a known customer (company, domain, contact
email), the first accepts it (the customer is revealed), a second opportunity for the same customer
is flagged as a conflict, and a record carrying the same customer is dead-lettered.
The API still shows the customer to the partner that accepted; then every record of every topic
(Faust's changelogs included) is scanned: the secret and each customer field are nowhere in clear.
"""

from __future__ import annotations

import asyncio
import base64

import orjson
import pytest

from ops.worker import compose_worker
from schemas.codec import encode
from schemas.events import ConflictFlagged, LeadRevealed, OfferMade
from streams.runtime.app import create_app
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.bus_kit import Bus
from tests.integration.bus_kit import opportunity as bus_opportunity
from tests.security.bus_scan import every_record

pytestmark = pytest.mark.kafka

SECRET = "whsec_" + base64.b64encode(b"known webhook signing secret!!!!").decode()
COMPANY = "Zyzzyva Clinics Incorporated"
DOMAIN = "zyzzyva-clinics.example"
EMAIL = "chief.zyzzyva@zyzzyva-clinics.example"
CUSTOMER = {
    "company": COMPANY,
    "domain": DOMAIN,
    "contacts": [{"name": "Quentin Zyzzyva", "email": EMAIL}],
}


async def test_no_customer_or_secret_in_clear_on_any_topic(api: Harness) -> None:
    net = await api.register("rest-net", capabilities=["networking"])
    store = await api.register("rest-store", capabilities=["storage"])
    hook = await api.client.put(
        "/v1/partners/rest-store/webhook",
        json={"url": "https://hooks.example.com/oppbus", "secret": SECRET},
        headers=store,
    )
    assert hook.status in (200, 201), await hook.text()
    worker = create_app(api.settings)
    compose_worker(worker, api.settings)
    async with Bus(api.settings) as bus:
        await worker.start()
        try:
            body = opportunity(opportunity_id="rest-1", customer=CUSTOMER)
            resp = await api.client.post("/v1/opportunities", json=body, headers=net)
            assert resp.status == 202, await resp.text()
            (offer,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="rest-1"))
            async with asyncio.timeout(20):  # the API has the offer too
                await api.state.readmodel.wait_until(
                    lambda: api.state.views.referral_of("rest-store", offer.referral_id) is not None
                )
            resp = await api.client.post(f"/v1/referrals/{offer.referral_id}/accept", headers=store)
            assert resp.status in (200, 202), await resp.text()
            (lead,) = await bus.wait_for(lambda: bus.of(LeadRevealed, opportunity_id="rest-1"))
            assert lead.customer.contacts[0].email == EMAIL  # a bus consumer reads it decrypted
            body = opportunity(opportunity_id="rest-2", customer=CUSTOMER)
            resp = await api.client.post("/v1/opportunities", json=body, headers=net)
            assert resp.status == 202, await resp.text()
            (flag,) = await bus.wait_for(lambda: bus.of(ConflictFlagged, opportunity_id="rest-2"))
            assert flag.domain == DOMAIN
            # a record the bus wrote that the router refuses: dead-lettered with its bytes
            bad = bus_opportunity("rest-net", "rest-bad").model_copy(
                update={"customer": lead.customer}
            )
            enc = encode(bad, source="urn:test")
            value = orjson.dumps({**orjson.loads(enc.value), "needs": []})
            await bus.send_raw(
                "opportunities", b"rest-net/rest-bad", value, enc.headers, signed=True
            )
            await bus.wait_for(lambda: bus.seen["deadletter"])
            resp = await api.client.get(f"/v1/leads/{offer.referral_id}", headers=store)
            assert (await resp.json())["customer"]["contacts"][0]["email"] == EMAIL
        finally:
            await worker.stop()
    blob = await every_record(api.settings, internal=True)
    assert b"rest-1" in blob and b"rest-bad" in blob  # the scan sees the records
    found = [v for v in (SECRET, SECRET[6:], COMPANY, DOMAIN, EMAIL) if v.encode() in blob]
    assert not found, f"in clear on the bus: {found}"
