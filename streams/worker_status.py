"""The worker's own word on whether it routes: a ``worker.status`` record on ``workers``.

The API's ``/healthz`` answers 200 only when the workers' latest statuses say ``ready`` and their
assigned input partitions cover every partition of ``opportunities`` (``connectors.http.health``).
A worker publishes its status when it changes (checked every ``CHECK_S``) and at least every
``interval_s`` as a heartbeat, and ``stopped`` when it stops, so a reader notices a worker that
is gone within a few intervals and a stopped one at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.codec import encode
from schemas.events import event_key
from schemas.health import WorkerState, WorkerStatus
from streams.runtime.readiness import assigned_partitions, waiting_for
from streams.settings import Settings

__all__ = ["CHECK_S", "INPUT_TOPICS", "StatusReporter", "register_status"]

log = logging.getLogger(__name__)

CHECK_S = 0.1  # how often the worker looks at its own state (cheap: attribute reads)
INPUT_TOPICS = ("opportunities", "responses", "offer-deadlines")  # what routing reads


class StatusReporter:
    """Publishes ``app``'s readiness on change and as a heartbeat."""

    def __init__(
        self, app: faust.App, settings: Settings, views_ready: Callable[[], Awaitable[None]]
    ) -> None:
        self.app = app
        self.settings = settings
        self.views_ready = views_ready
        self.topic = settings.topic("workers")
        self.inputs = frozenset(settings.topic(name) for name in INPUT_TOPICS)
        started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        self.worker_id = f"{socket.gethostname()}.{os.getpid()}.{started}"[:200]
        self.interval_s = settings.worker_status_interval_s
        self._views = False
        self.last: WorkerStatus | None = None

    def status(self) -> WorkerStatus:
        waiting = waiting_for(self.app)
        if not self._views:
            waiting.append("views: directory, claims and stats catching up")
        state: WorkerState = "starting" if waiting else "ready"
        return self._status(state, waiting)

    def _status(self, state: WorkerState, waiting: list[str]) -> WorkerStatus:
        assigned = assigned_partitions(self.app, self.inputs) if state != "stopped" else {}
        return WorkerStatus(
            worker_id=self.worker_id,
            group=self.settings.app_id,
            state=state,
            waiting_for=waiting,
            assigned=assigned,
            at=datetime.now(UTC),
            interval_s=self.interval_s,
        )

    async def publish(self, status: WorkerStatus) -> None:
        enc = encode(status, source=f"urn:oppbus:worker:{self.settings.app_id}")
        producer: Any = self.app.producer
        await producer.send_and_wait(
            self.topic, event_key(status), enc.value, None, None, enc.headers
        )
        if self.last is None or self.last.state != status.state:
            log.info("worker %s: %s %s", self.worker_id, status.state, status.waiting_for)
        self.last = status

    def _changed(self, status: WorkerStatus) -> bool:
        last = self.last
        if last is None:
            return True
        same = (last.state, last.waiting_for, last.assigned) == (
            status.state,
            status.waiting_for,
            status.assigned,
        )
        return not same or (status.at - last.at).total_seconds() >= self.interval_s

    async def _views_caught_up(self) -> None:
        await self.views_ready()
        self._views = True

    async def run(self) -> None:
        """Report until cancelled; say ``stopped`` on the way out."""
        views = asyncio.ensure_future(self._views_caught_up())
        try:
            while True:
                status = self.status()
                if self._changed(status):
                    await self.publish(status)
                await asyncio.sleep(CHECK_S)
        finally:
            views.cancel()
            await self._say_stopped()

    async def _say_stopped(self) -> None:
        try:
            await asyncio.wait_for(self.publish(self._status("stopped", [])), timeout=1.0)
        except Exception as exc:  # the producer may already be gone: readers time it out
            log.info("worker %s: could not say stopped (%s)", self.worker_id, exc)


def register_status(
    app: faust.App, settings: Settings, views_ready: Callable[[], Awaitable[None]]
) -> StatusReporter:
    reporter = StatusReporter(app, settings, views_ready)

    async def report_worker_status() -> None:
        await reporter.run()

    app.task(report_worker_status)
    return reporter
