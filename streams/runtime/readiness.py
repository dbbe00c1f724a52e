"""Whether a Faust worker routes now, and what it still waits for (read of Faust 0.15.3 state).

A worker routes when its first table recovery has completed (``Recovery.completed``: partitions
assigned, changelogs read, stream partitions sought to their committed offsets, flow resumed),
no rebalance or recovery is under way and its consumer's flow is on (``worker_state.settled``).
Faust's own web ``/`` answers long before that, and the group's state (DescribeGroups) says
nothing about tables; so the worker reports this itself (``streams.worker_status``).
"""

from __future__ import annotations

from typing import Any

from streams.runtime.worker_state import settled

__all__ = ["assigned_partitions", "waiting_for"]


def waiting_for(app: Any) -> list[str]:
    """What stands between ``app`` and routing (empty: it routes now)."""
    if app.rebalancing:
        return ["consumer group: joining or rebalancing"]
    recovery = app.tables.recovery
    if not recovery.completed.is_set():
        return ["consumer group: first assignment and table recovery"]
    if app.in_recovery:
        return ["tables: recovering from their changelogs"]
    if not settled(app):
        return ["consumer: flow paused"]
    return []


def assigned_partitions(app: Any, topics: frozenset[str]) -> dict[str, list[int]]:
    """The partitions of ``topics`` the worker's consumer holds now."""
    held: dict[str, list[int]] = {}
    for tp in app.consumer.assignment():
        if tp.topic in topics:
            held.setdefault(tp.topic, []).append(tp.partition)
    return {topic: sorted(parts) for topic, parts in sorted(held.items())}
