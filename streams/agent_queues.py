"""The stream queues of a Faust app's agents, as the worker watchdogs look at them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["stream_queues"]


def stream_queues(app: Any) -> Iterator[Any]:
    """Each agent actor's stream queue (Faust 0.15.3: ``actor.stream.channel.queue``, a
    ``ThrowableQueue`` with ``qsize()`` and ``pressure_drop_size``)."""
    for agent in app.agents.values():
        for actor in list(getattr(agent, "_actors", ())):
            yield actor.stream.channel.queue
