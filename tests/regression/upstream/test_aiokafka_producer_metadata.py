"""aiokafka: a producer knows the partitions of the topics that existed when it bootstrapped; the
first send to a topic created afterwards (a Faust worker creates its tables' changelog topics after
its producer started) waits for a metadata round trip, and Faust's producer has no public way to
ask ahead.

Worked around by ``streams.runtime.startup.warm_producer`` (row "producer warm-up" in
``streams/runtime/README.md``).
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from streams.settings import Settings
from tests.regression.upstream.conftest import create_topic

pytestmark = pytest.mark.kafka


async def test_the_first_send_to_a_topic_created_after_the_start_looks_it_up(
    settings: Settings,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        topic = await create_topic(settings, "warm-up", partitions=2)
        known_before = producer.client.cluster.partitions_for_topic(topic)
        looked_up = await producer.partitions_for(topic)  # what the first send waits for
    finally:
        await producer.stop()
    assert looked_up == {0, 1}
    assert known_before is None, "aiokafka now learns new topics by itself: no warm-up needed"
