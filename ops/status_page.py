"""The built-in status page of the API: ``GET /status`` and ``GET /v1/status/summary``.

No extra service: the API process runs the funnel feed (ops.funnel_feed), which drives the metrics
container on the API's registry (so ``GET /metrics`` carries the referral funnel) and the status
board behind the page. The page is one HTML file and one script (``ops/static``) drawing inline SVG
charts from the summary JSON, which it polls; the first summary is embedded in the HTML so the page
shows data without waiting for a request. Only aggregates are shown: no partner, opportunity or
customer appears on the page.
"""

from __future__ import annotations

from importlib import resources

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry

from ops.funnel import FunnelRecorder
from ops.funnel_feed import FunnelFeed
from ops.status_board import StatusBoard
from streams.metrics import ReferralMetrics
from streams.settings import Settings

__all__ = ["BOARD_KEY", "FEED_KEY", "METRICS_KEY", "install_status"]

BOARD_KEY = web.AppKey("status_board", StatusBoard)
FEED_KEY = web.AppKey("funnel_feed", FunnelFeed)
METRICS_KEY = web.AppKey("referral_metrics", ReferralMetrics)

_NO_CACHE = {"Cache-Control": "no-store"}
_PLACEHOLDER = "__SUMMARY__"


def _static(name: str) -> str:
    return resources.files("ops.static").joinpath(name).read_text(encoding="utf-8")


def _summary_json(board: StatusBoard) -> bytes:
    return orjson.dumps(board.summary())


async def status_page(request: web.Request) -> web.Response:
    # The embedded JSON must not be able to close the <script> element: escape "<".
    embedded = _summary_json(request.app[BOARD_KEY]).decode().replace("<", "\\u003c")
    html = _static("status.html").replace(_PLACEHOLDER, embedded, 1)
    return web.Response(text=html, content_type="text/html", headers=_NO_CACHE)


async def status_script(request: web.Request) -> web.Response:
    del request
    return web.Response(
        text=_static("status.js"), content_type="application/javascript", headers=_NO_CACHE
    )


async def status_summary(request: web.Request) -> web.Response:
    return web.Response(
        body=_summary_json(request.app[BOARD_KEY]),
        content_type="application/json",
        headers=_NO_CACHE,
    )


async def _run_feed(app: web.Application) -> None:
    await app[FEED_KEY].start()


async def _stop_feed(app: web.Application) -> None:
    await app[FEED_KEY].stop()


def install_status(
    app: web.Application,
    settings: Settings,
    registry: CollectorRegistry,
    *,
    metrics: ReferralMetrics | None = None,
    lag_interval_s: float = 5.0,
) -> FunnelRecorder:
    """Add the status routes and the funnel feed (started/stopped with the app) to ``app``.

    ``metrics``: the process's container when it already built one on ``registry``.
    """
    metrics = metrics or ReferralMetrics(registry)
    board = StatusBoard()
    recorder = FunnelRecorder(metrics, board)
    app[METRICS_KEY] = metrics
    app[BOARD_KEY] = board
    app[FEED_KEY] = FunnelFeed(settings, recorder, lag_interval_s=lag_interval_s)
    app.on_startup.append(_run_feed)
    app.on_cleanup.append(_stop_feed)
    app.router.add_get("/status", status_page)
    app.router.add_get("/status/status.js", status_script)
    app.router.add_get("/v1/status/summary", status_summary)
    return recorder
