"""faust-streaming / mode: every delivered message is raced against the flow's suspension with
``Service.wait_first``, which starts four asyncio tasks per call even when the delivery never waits.

Worked around by ``streams.runtime.delivery.EagerDelivery`` (row "eager delivery" in
``streams/runtime/README.md``), which recognises exactly that call; these tests fail when the
drain loop stops making it or when ``wait_first`` stops paying tasks for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.transport.consumer import Consumer
from mode import Service


def test_the_drain_loop_races_each_delivery_against_the_flow_suspension() -> None:
    names = Consumer._drain_messages.__code__.co_names
    assert {"wait_first", "callback", "suspend_flow"} <= set(names), names


async def test_wait_first_starts_four_tasks_for_a_delivery_that_does_not_wait() -> None:
    loop = asyncio.get_running_loop()
    started: list[Any] = []
    default = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Future[Any]:
        started.append(coro)
        if default is not None:
            return default(loop, coro, **kw)  # type: ignore[no-any-return]
        return asyncio.Task(coro, loop=loop, **kw)

    async def deliver() -> str:  # what Conductor.on_message does when nothing is full
        return "delivered"

    service, suspended = Service(), asyncio.Event()
    loop.set_task_factory(counting)
    try:
        result = await service.wait_first(deliver(), suspended.wait())
    finally:
        loop.set_task_factory(default)
    assert result.results == ["delivered"]
    assert len(started) == 4, f"mode's wait_first now starts {len(started)} tasks"
