"""Partners on Kafka: what a partner writes to its own ingress topic acts in its name only.

Partner ``acme`` writes, on ``<prefix>.ingress.acme`` and without the bus's MAC (it is a partner,
not the bus), an opportunity claiming to come from ``victim`` and a profile deactivating a
competitor. The worker re-stamps the opportunity with ``acme`` as originator (routed as acme's),
and dead-letters the profile: a partner's ingress carries opportunities and responses only.
"""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.worker import compose_worker
from schemas.codec import decode, encode
from schemas.events import DeadLetter, OfferMade
from streams.runtime.app import create_app
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.integration.bus_kit import Bus, opportunity, partner

pytestmark = pytest.mark.kafka


async def _ingress_topic(settings: Settings, partner_id: str) -> str:
    name = settings.topic(f"ingress.{partner_id}")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, settings.partitions, 1)])
    finally:
        await admin.close()
    return name


async def test_ingress_records_are_restamped_with_the_topics_partner(settings: Settings) -> None:
    await ensure_topics(settings)
    await _ingress_topic(settings, "acme")
    worker = create_app(settings)
    compose_worker(worker, settings)
    async with Bus(settings) as bus:
        await bus.publish(
            partner("acme", ["networking"]),
            partner("victim", ["networking"]),
            partner("store", ["storage"]),
        )
        await worker.start()
        try:
            forged = opportunity("victim", "ing-1")  # the body names someone else
            enc = encode(forged, source="urn:acme-crm")
            await bus.send_raw("ingress.acme", b"victim/ing-1", enc.value, enc.headers)
            (offer,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="ing-1"), 60)
            assert offer.originator == "acme" and offer.partner_id == "store"
            profile = partner("store", ["storage"], version=9, accepting=False)
            enc = encode(profile, source="urn:acme-crm")
            await bus.send_raw("ingress.acme", b"store", enc.value, enc.headers)
            dead = await bus.wait_for(lambda: bus.seen["deadletter"], 30)
        finally:
            await worker.stop()
    letter = decode(dead[0].value, dead[0].headers).event
    assert isinstance(letter, DeadLetter) and letter.reason == "ingress_type"
    assert letter.source_topic == settings.topic("ingress.acme")
