"""The HTTP API application: built from Settings by a factory, served by ``oppbus api``/``up``.

On start-up (aiohttp cleanup context) the app makes sure the bus topics exist, starts its producer
(``acks=all``) and its read model, and serves once the read model has caught up with the bus; on
shutdown it ends the lead streams, then stops both. Routes live in ``routes_*.py``; further
connectors add theirs through :func:`connectors.http.extensions.install_extensions`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from connectors.http.auth import principal_name
from connectors.http.errors import error_middleware
from connectors.http.extensions import install_extensions
from connectors.http.health import healthz, livez
from connectors.http.inbox import add_inbox_routes
from connectors.http.limits import Limits, install_limits
from connectors.http.metrics import METRICS, ApiMetrics
from connectors.http.openapi import add_openapi_route
from connectors.http.routes_admin import add_admin_routes
from connectors.http.routes_directory import add_directory_routes
from connectors.http.routes_fees import add_fee_routes
from connectors.http.routes_interop import add_interop_routes
from connectors.http.routes_leads import add_lead_routes
from connectors.http.routes_opportunities import add_opportunity_routes
from connectors.http.routes_partners import add_partner_routes
from connectors.http.routes_partnerships import add_partnership_routes
from connectors.http.routes_referrals import add_referral_routes
from connectors.http.routes_trust import add_trust_routes
from connectors.http.state import STATE, ApiState
from streams.runtime import TopicFollower, ensure_topics
from streams.settings import Settings

__all__ = ["REGISTRY_KEY", "SETTINGS_KEY", "create_web_app"]


SETTINGS_KEY = web.AppKey("settings", Settings)
REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
# Largest request body the server reads at all; routes enforce smaller limits (64 KiB or less).
MAX_REQUEST_BYTES = 256 * 1024


async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[REGISTRY_KEY])
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _bus(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    await ensure_topics(state.settings)
    await state.publisher.start()
    workers = TopicFollower(
        state.settings.bootstrap_servers,
        [state.settings.topic("workers")],
        state.workers,
        name="workers",
        client_options=state.settings.kafka_client_options(),
    )
    following = asyncio.ensure_future(workers.run())
    try:
        await state.readmodel.start()
        try:
            yield
        finally:
            await state.readmodel.stop()
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
    finally:
        await state.publisher.stop()


async def _end_streams(app: web.Application) -> None:
    app[STATE].closing.set()


def create_web_app(
    settings: Settings, registry: CollectorRegistry | None = None
) -> web.Application:
    registry = registry or CollectorRegistry()
    api_metrics = ApiMetrics(registry)
    app = web.Application(
        client_max_size=MAX_REQUEST_BYTES,
        middlewares=[api_metrics.middleware, error_middleware],
    )
    app[SETTINGS_KEY] = settings
    app[REGISTRY_KEY] = registry
    app[METRICS] = api_metrics
    app[STATE] = ApiState.build(settings, registry, api_metrics)
    # outermost: sheds before any work; buckets per authenticated principal
    install_limits(app, Limits.from_settings(settings), principal_name)
    app.cleanup_ctx.append(_bus)
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", livez)
    app.router.add_get("/metrics", metrics)
    add_partner_routes(app)
    add_trust_routes(app)
    add_opportunity_routes(app)
    add_lead_routes(app)
    add_referral_routes(app)
    add_inbox_routes(app)  # GET /inbox (the partner inbox page), GET /v1/me
    add_admin_routes(app)
    add_interop_routes(app)
    add_partnership_routes(app)
    add_directory_routes(app)
    add_fee_routes(app)
    add_openapi_route(app)
    install_extensions(app, settings, registry)
    return app
