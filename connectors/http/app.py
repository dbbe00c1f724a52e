"""The HTTP API application: built from Settings by a factory, served by ``oppbus api``/``up``."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ops.kafka_probe import kafka_answers
from ops.settings import Settings

__all__ = ["create_web_app", "run_api"]

SETTINGS_KEY = web.AppKey("settings", Settings)
REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)


async def healthz(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    reachable = await asyncio.to_thread(kafka_answers, host, int(port))
    body = {
        "status": "ok" if reachable else "degraded",
        "broker": {"url": settings.broker_url, "reachable": reachable},
    }
    return web.json_response(body, status=200 if reachable else 503)


async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[REGISTRY_KEY])
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_web_app(
    settings: Settings, registry: CollectorRegistry | None = None
) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app[SETTINGS_KEY] = settings
    app[REGISTRY_KEY] = registry or CollectorRegistry()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def run_api(settings: Settings) -> None:
    """Serve the API until SIGINT/SIGTERM."""
    web.run_app(
        create_web_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        print=None,
        access_log=None,
    )
