"""The aiokafka objects under a Faust app, for code outside the runtime that must reach them.

Faust runs its aiokafka consumer in a thread-service of its own (``app.consumer._thread``) and
keeps it private; aiokafka keeps its client and group coordinator private too. These functions are
the one place that knows those names (faust-streaming 0.15.3, aiokafka 0.14, pinned): everything
outside ``streams/runtime/`` calls them instead of touching private attributes (ruff ``SLF``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer

__all__ = ["aiokafka_consumer", "call_in_consumer_thread", "group_coordinator", "refresh_metadata"]


async def refresh_metadata(consumer: AIOKafkaConsumer) -> None:
    """Load the cluster metadata now (a fresh consumer knows no topic until it has fetched it)."""
    await consumer._client.force_metadata_update()


def aiokafka_consumer(app: Any) -> AIOKafkaConsumer:
    """The aiokafka consumer under a started Faust app's consumer."""
    consumer: AIOKafkaConsumer = app.consumer._thread._ensure_consumer()
    return consumer


def group_coordinator(app: Any) -> Any:
    """The consumer-group coordinator of a started Faust app (``member_id``, ``generation``...)."""
    return aiokafka_consumer(app)._coordinator


async def call_in_consumer_thread(app: Any, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run ``await fn(*args)`` in the event loop of the app's consumer thread and return its result
    (what touches the aiokafka consumer must run there)."""
    return await app.consumer._thread.call_thread(fn, *args)
