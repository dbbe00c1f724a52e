"""``GET /healthz`` (the bus routes) and ``GET /livez`` (this process answers).

``/healthz`` is 200 only when publishing an opportunity now gets it routed: the broker answers,
the API's read model runs, and the workers' latest statuses on the ``workers`` topic
(``streams.worker_status``) say ``ready`` and together hold every partition of
``opportunities``. Otherwise 503 with ``waiting_for`` naming what is still starting. A worker
silent for ``STALE_INTERVALS`` of its heartbeat interval counts as gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.http.errors import json_response
from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.health import WorkerStatus
from streams.runtime import kafka_answers

__all__ = ["STALE_INTERVALS", "WorkerBook", "routing_verdict"]

log = logging.getLogger(__name__)

STALE_INTERVALS = 3.0


@dataclass
class WorkerBook:
    """The latest status of every worker of one group, with when this process received it."""

    group: str
    statuses: dict[str, tuple[WorkerStatus, float]] = field(default_factory=dict)
    clock: Any = time.monotonic

    def __call__(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        coords: tuple[str, int, int],
    ) -> None:
        if value is None:
            if key is not None:
                self.statuses.pop(key.decode(errors="replace"), None)
            return
        try:
            event = decode(value, list(headers)).event
        except InvalidEvent as exc:
            log.warning("workers topic=%s partition=%d offset=%d: %s", *coords, exc)
            return
        if not isinstance(event, WorkerStatus) or event.group != self.group:
            return
        if event.state == "stopped":
            self.statuses.pop(event.worker_id, None)
        else:
            self.statuses[event.worker_id] = (event, self.clock())

    def live(self) -> list[WorkerStatus]:
        """Statuses heard within ``STALE_INTERVALS`` of their own interval (the rest: gone)."""
        now = self.clock()
        return [
            status
            for status, received in self.statuses.values()
            if now - received <= STALE_INTERVALS * status.interval_s
        ]


def routing_verdict(
    live: Sequence[WorkerStatus], input_topic: str, partitions: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """What stands in the way of routing (empty: nothing), and each live worker's summary."""
    waiting: list[str] = []
    covered: set[int] = set()
    for status in live:
        if status.state == "ready":
            covered.update(status.assigned.get(input_topic, ()))
        else:
            waiting.extend(f"worker {status.worker_id}: {why}" for why in status.waiting_for)
    if not live:
        waiting.append("workers: none has reported yet (is `oppbus worker` running?)")
    missing = sorted(set(range(partitions)) - covered)
    if live and missing:
        waiting.append(
            f"partitions: {input_topic} {', '.join(map(str, missing))} not held by a ready worker"
        )
    workers = [
        {
            "worker_id": s.worker_id,
            "state": s.state,
            "partitions": len(s.assigned.get(input_topic, ())),
        }
        for s in sorted(live, key=lambda s: s.worker_id)
    ]
    return waiting, workers


async def healthz(request: web.Request) -> web.Response:
    from connectors.http.state import STATE  # state imports this module (WorkerBook)

    state = request.app[STATE]
    settings = state.settings
    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    reachable = await asyncio.to_thread(kafka_answers, host, int(port))
    reading = state.readmodel.running
    topic = settings.topic("opportunities")
    partitions = await state.publisher.partition_count("opportunities") or settings.partitions
    waiting, workers = routing_verdict(state.workers.live(), topic, partitions)
    if not reachable:
        waiting.insert(0, f"broker: {settings.broker_url} does not answer")
    caught_up = state.readmodel.caught_up
    if not reading:
        waiting.insert(0, "api: read model not running")
    elif not caught_up:
        waiting.insert(0, "api: read model catching up with the bus")
    ok = not waiting
    body = {
        "status": "ok" if ok else "starting",
        "waiting_for": waiting,
        "broker": {"url": settings.broker_url, "reachable": reachable},
        "read_model": {
            "running": reading,
            "caught_up": caught_up,
            "applied": state.readmodel.applied,
            "skipped": state.readmodel.skipped,
        },
        "workers": workers,
    }
    return json_response(body, status=200 if ok else 503)


async def livez(request: web.Request) -> web.Response:
    del request
    return json_response({"status": "alive"})
