"""The one polling helper of the tests: wait until a condition holds, without a fixed sleep.

Use it for state that can only be polled (a read model, committed offsets, an HTTP endpoint, a
port); when there is an event to await (an ``asyncio.Condition``, a queue), await that instead.
``check`` may be a plain function or a coroutine function; its first truthy value is returned.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["until", "wait_for", "wait_for_sync"]

T = TypeVar("T")
Describe = str | Callable[[], str]
_MISSED = object()


def _timed_out(within: float, what: Describe) -> AssertionError:
    detail = what() if callable(what) else what
    return AssertionError(f"not within {within} s" + (f": {detail}" if detail else ""))


async def _poll(check: Callable[[], T | Awaitable[T]], within: float, every: float) -> object:
    """The first truthy value of ``check()``, else ``_MISSED`` once ``within`` s have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            return _MISSED
        await asyncio.sleep(every)


async def wait_for(
    check: Callable[[], T | Awaitable[T]],
    within: float = 30.0,
    *,
    every: float = 0.1,
    what: Describe = "",
) -> T:
    """The first truthy value of ``check()``, polled every ``every`` s; an AssertionError naming
    ``what`` (a text, or a function giving one: the progress so far) after ``within`` s."""
    value = await _poll(check, within, every)
    if value is _MISSED:
        raise _timed_out(within, what)
    return value  # type: ignore[return-value]


async def until(predicate: Callable[[], object], seconds: float = 30.0) -> bool:
    """True as soon as ``predicate()`` holds, False after ``seconds``: for
    ``assert await until(...), context`` where the context is best built by the caller."""
    return await _poll(predicate, seconds, 0.1) is not _MISSED


def wait_for_sync(
    check: Callable[[], T], within: float = 30.0, *, every: float = 0.1, what: Describe = ""
) -> T:
    """:func:`wait_for` for synchronous tests (subprocesses, ports)."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(within, what)
        time.sleep(every)
