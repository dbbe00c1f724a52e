"""A Faust agent produces and consumes through the real embedded broker."""

from __future__ import annotations

import asyncio

import pytest

from streams.runtime.app import create_app
from streams.settings import Settings

pytestmark = pytest.mark.kafka


async def test_agent_consumes_and_forwards(settings: Settings) -> None:
    app = create_app(settings)
    source = app.topic(settings.topic("echo-in"), partitions=2)
    sink = app.topic(settings.topic("echo-out"), partitions=2)
    received: list[bytes] = []

    @app.agent(source)
    async def upper(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            await sink.send(value=value.upper())

    @app.agent(sink)
    async def collect(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            received.append(value)

    await app.start()
    try:
        for i in range(20):
            await source.send(key=str(i).encode(), value=f"lead-{i}".encode())
        for _ in range(300):
            if len(received) >= 20:
                break
            await asyncio.sleep(0.1)
    finally:
        await app.stop()
    assert sorted(received) == sorted(f"LEAD-{i}".encode() for i in range(20))
