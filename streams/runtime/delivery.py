"""Faust's per-message delivery without four asyncio tasks per message (Faust 0.15.3 only).

Faust's consumer hands every fetched message to its streams in ``Consumer._drain_messages``
(``faust/transport/consumer.py``) with::

    await self.wait_first(callback(message), self.suspend_flow.wait())

``callback`` is the conductor's ``on_message``: it waits while flow control is suspended or the
producer buffer is over its limit, decodes the message and puts it into each subscribed stream's
queue (waiting when a queue is full). Racing it against ``suspend_flow`` is what lets a rebalance
abort a delivery that is *blocked*. ``wait_first`` pays for that race with four tasks per message
(the callback, the suspension, the service's stopped and crashed events) plus ``asyncio.wait``:
measured at about a third of a bare Faust pass-through's CPU
(``docs/upstream/faust-delivery-tasks.md``, ``docs/upstream/faust-throughput.md``).

:class:`EagerDelivery` keeps the race and only skips it when there is nothing to race: it first
runs the delivery coroutine eagerly, up to its first suspension (what Python 3.12's eager tasks
do). A delivery that finishes without suspending was never blocked, so no rebalance could have
aborted it, and the result is the one ``wait_first`` would have returned (the callback won, the
service is not stopped). A delivery that suspends (flow control, a full producer buffer, a full
stream queue) is handed, already started, to Faust's own ``wait_first`` against ``suspend_flow``,
so a rebalance aborts it exactly as before. When ``suspend_flow`` is already set, or the service
is stopping or crashed, Faust's path runs unchanged. Nothing else changes: offsets are still
tracked by the streams' acks and committed by Faust (contiguous acknowledged offsets only, after
the producer flush).

It applies to exactly that call: ``wait_first`` with two coroutines, the first one the consumer's
own ``callback`` and the second ``suspend_flow.wait()`` (identified by their code objects); any
other ``wait_first`` goes straight to mode's. ``streams.runtime.pins`` refuses another Faust
version, whose drain loop may differ (checked when the worker's app is built).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

from mode.services import WaitArgT, WaitResults
from mode.utils.times import Seconds

__all__ = ["EagerDelivery", "Resumed"]

_EVENT_WAIT = asyncio.Event.wait.__code__


class Resumed:
    """An awaitable that carries on a coroutine already run up to its first suspension.

    ``first`` is what the coroutine yielded there (the future it waits for); awaiting this object
    yields it to the task, then passes every later resumption (or thrown exception, e.g. a
    cancellation) through to the coroutine — what ``yield from`` does.
    """

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self._coro, self._first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task: CancelledError and the like
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


class EagerDelivery:
    """Mixin for a ``faust.transport.consumer.Consumer`` subclass (put it first in the bases)."""

    callback: Any
    suspend_flow: asyncio.Event

    def _is_delivery(self, coros: tuple[WaitArgT, ...], timeout: Seconds | None) -> bool:
        if timeout is not None or len(coros) != 2:
            return False
        delivery, suspended = coros
        return (
            asyncio.iscoroutine(delivery)
            and asyncio.iscoroutine(suspended)
            and getattr(suspended, "cr_code", None) is _EVENT_WAIT
            and getattr(delivery, "cr_code", None) is getattr(self.callback, "__code__", object())
        )

    def _stopping(self) -> bool:
        service: Any = self  # mode.Service's events
        return bool(service._stopped.is_set() or service._crashed.is_set())

    async def _race(self, *coros: WaitArgT, timeout: Seconds | None = None) -> WaitResults:  # noqa: ASYNC109
        results: WaitResults = await super().wait_first(  # type: ignore[misc]
            *coros, timeout=timeout
        )
        return results

    # mode's signature (``timeout`` included): this overrides Service.wait_first
    async def wait_first(
        self,
        *coros: WaitArgT,
        timeout: Seconds | None = None,  # noqa: ASYNC109
    ) -> WaitResults:
        if not self._is_delivery(coros, timeout) or self.suspend_flow.is_set() or self._stopping():
            return await self._race(*coros, timeout=timeout)
        delivery, suspended = coros
        assert isinstance(delivery, Coroutine) and isinstance(suspended, Coroutine)
        try:
            first = delivery.send(None)
        except StopIteration as done:  # delivered without waiting for anything
            suspended.close()
            return WaitResults([delivery], [done.value], False)
        except BaseException:
            suspended.close()
            raise
        resumed: Awaitable[Any] = Resumed(delivery, first)
        return await self._race(resumed, suspended)
