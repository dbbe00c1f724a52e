"""A worker's readiness, as it reports it on the ``workers`` topic (read by the API's /healthz).

A worker says ``ready`` only when it routes: joined its group with input partitions assigned,
tables recovered, and the whole-topic views it ranks from (directory, claims, stats) caught up.
It repeats its status every ``interval_s`` (a heartbeat) and says ``stopped`` when it stops, so a
reader treats a status older than a few intervals as gone.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.common import Contract, UtcDatetime

__all__ = ["WorkerState", "WorkerStatus"]

WorkerState = Literal["starting", "ready", "stopped"]

_Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class WorkerStatus(Contract):
    """One worker's readiness at ``at`` (key: ``worker_id``)."""

    worker_id: _Name = Field(description="Unique per worker process (host, pid and start).")
    group: _Name = Field(description="The consumer group (app id) of the worker.")
    state: WorkerState
    waiting_for: list[_Name] = Field(
        default_factory=list,
        max_length=20,
        description="What the worker still waits for before it routes (empty when ready).",
    )
    assigned: dict[_Name, list[Annotated[int, Field(strict=True, ge=0)]]] = Field(
        default_factory=dict,
        description="Input topics (full names) and the partitions this worker reads now.",
    )
    at: UtcDatetime
    interval_s: float = Field(
        strict=True, gt=0, le=3600, description="How often the worker repeats this."
    )
