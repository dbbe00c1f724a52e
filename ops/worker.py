"""``oppbus worker``: one Faust worker running every stream processor of the bus."""

from __future__ import annotations

import asyncio
import logging

import faust
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, generate_latest

from ops.metrics import ReferralMetrics
from ops.settings import Settings
from ops.topic_admin import ensure_topics
from streams.app import create_app
from streams.wiring import register_all

__all__ = ["build_worker_app", "run_worker"]

_EXPOSITION_TYPE = "text/plain; version=0.0.4"


def build_worker_app(settings: Settings, *, web: bool = True) -> faust.App:
    app = create_app(settings, web=web)
    registry = CollectorRegistry()
    register_all(app, settings, registry)
    if web:
        _serve_metrics(app, registry)
    return app


def _serve_metrics(app: faust.App, registry: CollectorRegistry) -> None:
    """``GET /metrics`` on the worker's web port: what runs in the worker (outbound webhook
    deliveries and failures) plus ``oppbus_worker_up`` 1 while it serves. The referral funnel and
    the consumer lag come from the API's /metrics (ops.funnel_feed)."""
    ReferralMetrics(registry).worker_up(True)

    @app.page("/metrics")
    async def metrics(self: View, request: Request) -> Response:
        del request
        # aiohttp (under Faust's view) takes the charset separately from the content type.
        return self.bytes(generate_latest(registry), content_type=_EXPOSITION_TYPE)


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM (Faust's worker installs the handlers and stops cleanly)."""
    asyncio.run(ensure_topics(settings))
    _use_uvloop()
    app = build_worker_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)

    async def _quiet_root() -> None:
        # With a level of WARNING or above, Faust's worker start-up (its spinner handler) leaves
        # the root logger at DEBUG, so every log.debug in faust and aiokafka builds a record
        # (~17 % throughput, notes). App tasks run after that start-up: set it back here.
        logging.getLogger().setLevel(settings.log_level.upper())

    app.task(_quiet_root)
    worker.execute_from_commandline()


def _use_uvloop() -> None:
    """Run the worker on uvloop (+7-14 % throughput, notes) when it is installed.

    Faust picks its loop from ``FAUST_LOOP`` only when ``faust`` is first imported, which is too
    early for us; the worker (mode) takes the current event loop, so we set that instead.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return
    asyncio.set_event_loop(uvloop.new_event_loop())
