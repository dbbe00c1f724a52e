"""Metrics of the HTTP API itself, on the app's registry: requests, publications, the read model.

Labels are bounded: the route is the path *template* (``/v1/leads/{referral_id}``, never an id),
unknown paths count as ``unmatched``; status is the class (``2xx`` ... ``5xx``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["METRICS", "ApiMetrics"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry, *, namespace: str = "oppbus") -> None:
        self._requests = Counter(
            "http_requests",
            "HTTP API requests, by route template, method and status class.",
            ("route", "method", "status"),
            namespace=namespace,
            registry=registry,
        )
        self._seconds = Histogram(
            "http_request_seconds",
            "HTTP API request duration (lead streams excluded), by route template.",
            ("route",),
            namespace=namespace,
            registry=registry,
            buckets=_BUCKETS,
        )
        self._published = Counter(
            "api_published",
            "Events the API published (broker acknowledged), by topic.",
            ("topic",),
            namespace=namespace,
            registry=registry,
        )
        self._rejected = Counter(
            "api_rejected",
            "Requests refused before anything was published, by error code.",
            ("code",),
            namespace=namespace,
            registry=registry,
        )

    def published(self, topic: str) -> None:
        self._published.labels(topic=topic).inc()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = _route(request)
            self._requests.labels(
                route=route, method=request.method, status=f"{status // 100}xx"
            ).inc()
            if not route.endswith("/stream"):
                self._seconds.labels(route=route).observe(time.perf_counter() - start)
            code = request.get(REJECTED)
            if code is not None:
                self._rejected.labels(code=code).inc()


REJECTED = web.RequestKey("oppbus_rejected_code", str)
METRICS = web.AppKey("oppbus_api_metrics", ApiMetrics)


def _route(request: web.Request) -> str:
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None or info.http_exception is not None:
        return "unmatched"
    return str(resource.canonical)
