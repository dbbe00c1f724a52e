"""The API's named locks serialise writes per name and leave nothing behind once released."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from connectors.http.metrics import ApiMetrics
from connectors.http.state import ApiState
from streams.settings import load_settings


async def test_a_named_lock_serialises_and_is_forgotten_when_nobody_holds_or_awaits_it() -> None:
    registry = CollectorRegistry()
    state = ApiState.build(load_settings({}, env={}), registry, ApiMetrics(registry))
    order: list[str] = []

    async def write(name: str, tag: str, hold: float) -> None:
        async with state.lock(name):
            order.append(f"{tag}+")
            await asyncio.sleep(hold)
            order.append(f"{tag}-")

    first = asyncio.create_task(write("opportunity:a", "1", 0.05))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(write("opportunity:a", "2", 0.0))
    other = asyncio.create_task(write("opportunity:b", "3", 0.0))
    await asyncio.sleep(0.01)
    assert set(state.locks) == {"opportunity:a"}  # b came and went; a is held and awaited
    await asyncio.gather(first, second, other)
    assert order.index("1-") < order.index("2+")  # the same name: one at a time
    assert order.index("3+") < order.index("1-")  # another name: not held up
    assert state.locks == {}  # a million published opportunities leave no million locks

    async def fails() -> None:
        async with state.lock("partner:x"):
            raise ValueError("boom")

    try:
        await fails()
    except ValueError:
        pass
    assert state.locks == {}
