"""``oppbus worker``: one Faust worker running every stream processor of the bus.

The shell composes the worker process: the stream contexts (``streams.wiring``) plus the
outbound webhook dispatcher (``connectors.webhooks``), which runs in the worker's event loop with
its own consumer group on ``referrals``, and the partners' ingress forwarder (``connectors.ingress``,
its own group on ``<prefix>.ingress.*``).
"""

from __future__ import annotations

import asyncio

import faust
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from connectors.ingress import register_ingress
from connectors.webhooks.service import register_webhooks
from ops.memory import resident_bytes
from streams.metrics import ReferralMetrics
from streams.runtime import create_app, ensure_topics, quiet_root_logger, use_uvloop
from streams.settings import Settings
from streams.wiring import Contexts, register_all

__all__ = ["build_worker_app", "compose_worker", "run_worker"]

_EXPOSITION_TYPE = "text/plain; version=0.0.4"


def compose_worker(
    app: faust.App, settings: Settings, registry: CollectorRegistry | None = None
) -> Contexts:
    """Put everything a worker runs on ``app``: the stream contexts and the webhook dispatcher."""
    contexts = register_all(app, settings, registry)
    register_webhooks(app, settings, registry)
    register_ingress(app, settings)  # partners' Kafka ingress topics, re-stamped
    return contexts


def build_worker_app(settings: Settings, *, web: bool = True) -> faust.App:
    app = create_app(settings, web=web)
    registry = CollectorRegistry()
    contexts = compose_worker(app, settings, registry)
    if web:
        _serve_metrics(app, registry)
        _memory_gauges(registry, contexts)
    return app


def _memory_gauges(registry: CollectorRegistry, contexts: Contexts) -> None:
    """The worker's resident memory and the partners its routing directory holds (read at
    every scrape): with a million partners the directory is most of the memory."""
    Gauge(
        "oppbus_worker_resident_memory_bytes",
        "Resident memory (RSS) of the worker process.",
        registry=registry,
    ).set_function(resident_bytes)
    Gauge(
        "oppbus_directory_partners",
        "Active partners in the worker's routing directory.",
        registry=registry,
    ).set_function(lambda: len(contexts.directory.directory))


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
    use_uvloop()
    app = build_worker_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    quiet_root_logger(app, settings.log_level)
    worker.execute_from_commandline()
