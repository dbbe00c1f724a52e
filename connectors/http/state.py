"""What every handler of the API shares: settings, read model, publisher, replay guards.

One :class:`ApiState` per web app, stored under :data:`STATE`; connectors that add routes
(webhooks, CRM inbound, ...) reach the same publisher, views and auth through :func:`state_of`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.http.conflict_checks import ConflictCheckBudget
from connectors.http.errors import ApiError
from connectors.http.guards import SharedGuards, SharedIdempotency
from connectors.http.health import WorkerBook
from connectors.http.metrics import ApiMetrics
from connectors.http.publisher import Published, Publisher
from connectors.http.readmodel import ReadModel
from connectors.http.views import Views
from schemas.guards import GuardRecord
from streams.settings import Settings

__all__ = ["STATE", "ApiState", "state_of", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _NamedLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holding or waiting


@dataclass
class ApiState:
    settings: Settings
    registry: CollectorRegistry
    metrics: ApiMetrics
    views: Views
    readmodel: ReadModel
    publisher: Publisher
    workers: WorkerBook  # the workers' readiness, for /healthz
    guards: SharedGuards = field(init=False)  # replay guards on the log (connectors/http/guards.py)
    idempotency: SharedIdempotency = field(init=False)
    conflict_checks: ConflictCheckBudget = field(default_factory=ConflictCheckBudget)
    # How long a write waits to become visible in the read model (read-your-writes).
    visibility_timeout_s: float = 5.0

    locks: dict[str, _NamedLock] = field(default_factory=dict)  # only those held or awaited
    # A random tag of this process's read model: lead stream event ids are "<epoch>-<seq>".
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        async def publish(record: GuardRecord) -> Published:
            return await self.publisher.publish("api-guards", record.slot, record)

        async def visible(published: Published) -> None:
            await self.visible(published)

        self.guards = SharedGuards(self.readmodel.guards, publish, visible)
        self.idempotency = SharedIdempotency(self.guards)

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        """Hold the lock of ``name`` (e.g. a partner) so concurrent writes get consecutive
        versions. A name's lock lives while someone holds or awaits it: one per opportunity
        published must not stay for the life of the process."""
        entry = self.locks.get(name)
        if entry is None:
            entry = self.locks[name] = _NamedLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self.locks[name]

    async def visible(self, *published: Published) -> None:
        """Read-your-writes: wait until the read model applied ``published`` (else 503)."""
        for p in published:
            if not await self.readmodel.wait_for(p, timeout_s=self.visibility_timeout_s):
                raise ApiError(
                    503,
                    "the change was published but is not visible yet; retry the read shortly",
                    code="not_yet_visible",
                )

    @classmethod
    def build(
        cls, settings: Settings, registry: CollectorRegistry, metrics: ApiMetrics
    ) -> ApiState:
        views = Views(closed_retention_s=settings.closed_retention_s)
        return cls(
            settings=settings,
            registry=registry,
            metrics=metrics,
            views=views,
            readmodel=ReadModel(settings, views),
            publisher=Publisher(settings, on_published=metrics.published),
            workers=WorkerBook(settings.app_id),
            conflict_checks=ConflictCheckBudget(settings.conflict_checks_per_hour),
        )


STATE = web.AppKey("oppbus_api_state", ApiState)


def state_of(request: web.Request) -> ApiState:
    return request.app[STATE]
