"""The broker is a trust boundary: records the bus did not write are dead-lettered, never applied.

Anyone who reaches the broker produces, on the real embedded broker while a worker and the API run:
an opportunity in another partner's name, a ``credentials`` record replacing a partner's API key,
a profile deactivating a competitor, a ``webhooks`` record sending a partner's leads to an
attacker's URL (unsigned, and signed with a key that is not the bus's). Each comes back on the
dead-letter topic with the reason ``unauthenticated``; none changes what the API or the router
does; a genuine opportunity published afterwards is still routed to the partner the forgeries
targeted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from connectors.http.keys import hash_key
from ops.worker import compose_worker
from schemas.codec import decode, encode
from schemas.credentials import Credential
from schemas.events import DeadLetter, OfferMade, event_key, event_topic
from schemas.webhooks import WebhookSubscription
from streams.record_auth import RecordAuth
from streams.runtime.app import create_app
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.bus_kit import Bus, partner
from tests.integration.bus_kit import opportunity as bus_opportunity

pytestmark = pytest.mark.kafka

ATTACKER_KEY = "attacker-chosen-api-key-0123456789abcdef"


def _forgeries() -> list:
    now = datetime.now(UTC)
    return [
        bus_opportunity("net-victim", "forged-opp"),  # in another partner's name
        Credential(  # account takeover: the attacker's key for the victim
            partner_id="store-victim",
            key_id="0123456789ab",
            key_hash=hash_key(ATTACKER_KEY),
            version=99,
            updated_at=now,
        ),
        partner("store-victim", ["storage"], version=99, accepting=False, active=False),
        WebhookSubscription(  # the victim's leads to the attacker
            partner_id="store-victim",
            url="https://attacker.example/hook",
            secret="whsec_" + "A" * 43 + "=",
            version=99,
            updated_at=now,
        ),
    ]


async def _forge(bus: Bus, events: list, auth: RecordAuth | None) -> None:
    for event in events:
        enc = encode(event, source="urn:attacker")
        topic, key = event_topic(event), event_key(event) or b""
        headers = enc.headers
        if auth is not None:  # a MAC, with a key the bus does not hold
            headers = auth.stamp(bus.settings.topic(topic), key, enc.value, headers)
        await bus.send_raw(topic, key, enc.value, headers)


def _dead(bus: Bus) -> list[DeadLetter]:
    return [decode(m.value, m.headers).event for m in bus.seen["deadletter"]]


async def test_forged_records_are_dead_lettered_and_never_applied(api: Harness) -> None:
    settings = api.settings
    victim_net = await api.register("net-victim", capabilities=["networking"])
    victim_store = await api.register("store-victim", capabilities=["storage"])
    worker = create_app(settings)
    contexts = compose_worker(worker, settings)
    async with Bus(settings) as bus:
        await worker.start()
        try:
            await _forge(bus, _forgeries(), None)
            await _forge(bus, _forgeries(), RecordAuth([b"not-the-bus-key"]))
            dead = await bus.wait_for(lambda: len(bus.seen["deadletter"]) >= 8 and _dead(bus))
            assert {d.reason for d in dead} == {"unauthenticated"}
            topics = sorted(d.source_topic.rsplit(".", 1)[1] for d in dead)
            assert topics == sorted(["opportunities", "credentials", "partners", "webhooks"] * 2)
            # every reader saw them and applied none
            await bus.wait_for(lambda: contexts.directory.unauthenticated >= 2)
            await bus.wait_for(lambda: api.state.readmodel.skipped >= 6)  # opp, creds, profile

            # credentials: the attacker's key opens nothing, the victim's still works
            attacker = api.bearer(ATTACKER_KEY)
            resp = await api.client.get("/v1/partners/store-victim", headers=attacker)
            assert resp.status == 401
            resp = await api.client.get("/v1/partners/store-victim", headers=victim_store)
            assert resp.status == 200 and (await resp.json())["accepting"] is True
            # webhooks: no subscription redirects the victim's leads
            resp = await api.client.get("/v1/partners/store-victim/webhook", headers=victim_store)
            assert resp.status == 404
            # opportunity: the forged one is unknown to its supposed originator, never offered
            resp = await api.client.get("/v1/opportunities/forged-opp", headers=victim_net)
            assert resp.status == 404

            # the directory still has the victim: a genuine opportunity is offered to it
            resp = await api.client.post(
                "/v1/opportunities", json=opportunity(opportunity_id="real-opp"), headers=victim_net
            )
            assert resp.status == 202, await resp.text()
            (offer,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="real-opp"))
            assert offer.partner_id == "store-victim"
            await asyncio.sleep(0.5)
            assert not bus.of(OfferMade, opportunity_id="forged-opp")
        finally:
            await worker.stop()
