"""Stock faust-streaming pieces built without a broker, for the upstream regression tests.

Everything here is Faust's own class (``faust.App``, its aiokafka ``Consumer``), never ours: these
tests show what upstream does, so that they fail on the day it stops doing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.settings import Settings

IN = "in"  # the input topic the stock app's streams read


@pytest.fixture
async def stock_app() -> AsyncIterator[faust.App]:
    """A plain ``faust.App`` (no broker contacted) whose conductor acknowledges ``IN``."""
    app = faust.App(
        "upstream-regression",
        broker="kafka://localhost:1",
        autodiscover=False,
        store="memory://",
    )
    app.topics.add(app.topic(IN))
    await app.topics._update_indices()
    yield app
    await asyncio.sleep(0)
    if app._consumer is not None:  # its thread made an event loop it closes only when run
        app.consumer._thread.thread_loop.close()


async def create_topic(settings: Settings, name: str, partitions: int = 1) -> str:
    """Create this test's topic ``name`` on the embedded broker; returns its full name."""
    topic = settings.topic(name)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    return topic
