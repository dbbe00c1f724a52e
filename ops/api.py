"""``oppbus api``: the HTTP API process, composed by the shell.

The connectors build the API (``connectors.http.app.create_web_app``); the shell adds what only
it has — the status page and the referral funnel on the API's ``/metrics`` — and serves it.
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.http.app import create_web_app
from connectors.http.serve import serve
from ops.status_page import install_status
from streams.settings import Settings

__all__ = ["build_api_app", "run_api"]

log = logging.getLogger(__name__)


def build_api_app(settings: Settings, registry: CollectorRegistry | None = None) -> web.Application:
    """The API app of one ``oppbus api`` process: every connector's routes plus the status page."""
    registry = registry or CollectorRegistry()
    settings.install_data_keys()  # customers and secrets encrypted on the log
    app = create_web_app(settings, registry)
    install_status(app, settings, registry)  # GET /status, /v1/status/summary, funnel metrics
    return app


def run_api(settings: Settings) -> None:
    """Serve the API until SIGINT/SIGTERM."""
    if settings.admin_token is None:
        log.warning("no OPPBUS_ADMIN_TOKEN: admin routes are disabled (partner keys still work)")
    serve(
        build_api_app(settings),
        settings.http_host,
        settings.http_port,
        shutdown_timeout=5.0,
    )
