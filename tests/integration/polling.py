"""Polling for in-process tests: wait until a condition holds, without a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
    """True as soon as ``predicate()`` holds (checked every 0.1 s), else its value at the end."""
    for _ in range(int(seconds * 10)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()
