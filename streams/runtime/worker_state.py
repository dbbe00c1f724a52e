"""What the worker watchdogs (``stranded``, ``lone_member``, ``undelivered``) read of a Faust app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["settled", "stream_queues"]


def settled(app: Any) -> bool:
    """The worker consumes normally: not a client, no rebalance or table recovery under way, its
    consumer's flow on. Only then are its assignment, positions and queues worth judging."""
    busy = app.client_only or app.rebalancing or app.in_recovery
    return not busy and bool(app.consumer.flow_active)


def stream_queues(app: Any) -> Iterator[Any]:
    """Each agent actor's stream queue (Faust 0.15.3: ``actor.stream.channel.queue``, a
    ``ThrowableQueue`` with ``qsize()`` and ``pressure_drop_size``)."""
    for agent in app.agents.values():
        for actor in list(getattr(agent, "_actors", ())):
            yield actor.stream.channel.queue
