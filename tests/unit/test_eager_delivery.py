"""``streams.runtime.delivery.EagerDelivery``: Faust's delivery race, paid only when a delivery waits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mode import Service

from streams.runtime.delivery import EagerDelivery, Resumed


class _Consumer(EagerDelivery, Service):
    """Just what the mixin needs of a Faust consumer: ``callback`` and ``suspend_flow``."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()
        self.gate = gate
        self.delivered: list[str] = []
        self.cancelled: list[str] = []

    async def callback(self, message: str) -> str:
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(message)
                raise
        self.delivered.append(message)
        return message.upper()


def _tasks() -> int:
    return len(asyncio.all_tasks())


async def test_a_delivery_that_does_not_wait_runs_inline_without_tasks() -> None:
    consumer = _Consumer()
    before = _tasks()
    result = await consumer.wait_first(consumer.callback("m1"), consumer.suspend_flow.wait())
    assert _tasks() == before
    assert consumer.delivered == ["m1"]
    assert result.done and result.results == ["M1"] and not result.stopped


async def test_a_waiting_delivery_still_completes_through_the_race() -> None:
    gate = asyncio.Event()
    consumer = _Consumer(gate)
    racing = asyncio.ensure_future(
        consumer.wait_first(consumer.callback("m1"), consumer.suspend_flow.wait())
    )
    await asyncio.sleep(0)
    assert not racing.done() and consumer.delivered == []
    gate.set()
    result = await racing
    assert result.results == ["M1"] and consumer.delivered == ["m1"]


async def test_a_rebalance_aborts_a_waiting_delivery() -> None:
    consumer = _Consumer(asyncio.Event())  # the gate never opens: e.g. a full stream queue
    racing = asyncio.ensure_future(
        consumer.wait_first(consumer.callback("m1"), consumer.suspend_flow.wait())
    )
    await asyncio.sleep(0)
    consumer.suspend_flow.set()  # Consumer.stop_flow(), as Faust does on a rebalance
    result = await asyncio.wait_for(racing, 5)
    assert result.results == [True]  # only the suspension (Event.wait() -> True) won
    assert consumer.cancelled == ["m1"] and consumer.delivered == []


async def test_with_flow_already_suspended_faust_races_as_before() -> None:
    consumer = _Consumer(asyncio.Event())
    consumer.suspend_flow.set()
    result = await consumer.wait_first(consumer.callback("m1"), consumer.suspend_flow.wait())
    assert result.results == [True]
    assert consumer.delivered == []  # cancelled before it ran, as in Faust


async def test_other_waits_are_left_to_mode() -> None:
    consumer = _Consumer()
    other = asyncio.Event()
    result = await consumer.wait_first(other, timeout=0.01)  # e.g. Service.wait(...)
    assert result.done == []  # mode's own answer to a timeout


async def test_resumed_passes_cancellation_into_the_coroutine() -> None:
    gate = asyncio.Event()
    consumer = _Consumer(gate)
    coro = consumer.callback("m2")
    first = coro.send(None)  # stopped at gate.wait()
    task = asyncio.ensure_future(Resumed(coro, first))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert consumer.cancelled == ["m2"]


async def test_resumed_finishes_the_coroutine() -> None:
    gate = asyncio.Event()
    consumer = _Consumer(gate)
    coro = consumer.callback("m3")
    first = coro.send(None)
    task: asyncio.Future[Any] = asyncio.ensure_future(Resumed(coro, first))
    gate.set()
    assert await task == "M3"
