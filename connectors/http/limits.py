"""Load shedding for the HTTP API: refuse early and cheaply what cannot be served.

Two limits, checked before a request is authenticated or its body is read, so a burst costs the
server almost nothing and a refused request publishes nothing:

- **in flight** (server-wide): at most ``max_in_flight`` ordinary requests are processed at once;
  the next one is answered ``503`` with ``Retry-After`` at once instead of queueing behind them.
  Long-lived lead streams (``.../stream``) have their own cap, ``max_streams``, so open SSE
  connections never eat the request budget.
- **per client** (token bucket): ``rate_per_client`` requests per second with bursts of
  ``burst_per_client``, per bearer token (else per remote address); beyond that ``429`` with
  ``Retry-After``. Tokens are kept only as a short SHA-256 digest, in a bounded table.

``/healthz`` and ``/metrics`` are exempt: probes must see an overloaded server as alive.
A request that was accepted (``202``) is never shed afterwards: shedding happens before the
handler runs, never after it published.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from streams.settings import Settings

__all__ = ["SHEDDER_KEY", "Limits", "LoadShedder", "install_limits"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXEMPT_PATHS = frozenset({"/healthz", "/livez", "/metrics"})
_MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 256
    max_streams: int = 256
    rate_per_client: float = 500.0  # requests per second, sustained; 0 switches it off
    burst_per_client: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_in_flight=settings.http_max_in_flight,
            max_streams=settings.http_max_streams,
            rate_per_client=settings.http_rate_per_client,
            burst_per_client=settings.http_burst_per_client,
        )


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class LoadShedder:
    """The state of both limits for one app; ``middleware`` is the aiohttp middleware."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    in_flight: int = 0
    streams: int = 0
    shed_503: int = 0
    shed_429: int = 0
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    def _client(self, request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        if auth:
            return "t:" + hashlib.sha256(auth.encode("utf-8", "replace")).hexdigest()[:24]
        return "a:" + (request.remote or "?")

    def take(self, client: str) -> float:
        """Take one token for ``client``; 0 when allowed, else seconds until one is available."""
        rate, burst = self.limits.rate_per_client, float(self.limits.burst_per_client)
        if rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(burst, now)
            self._buckets[client] = bucket
            if len(self._buckets) > _MAX_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        wait = self.take(self._client(request))
        if wait > 0:
            self.shed_429 += 1
            return _refuse(429, "rate_limited", "too many requests from this client", wait)
        streaming = request.path.endswith("/stream")
        if streaming:
            if self.streams >= self.limits.max_streams:
                self.shed_503 += 1
                return _refuse(503, "overloaded", "too many open lead streams", 5.0)
            self.streams += 1
        else:
            if self.in_flight >= self.limits.max_in_flight:
                self.shed_503 += 1
                return _refuse(503, "overloaded", "the server is busy, retry shortly", 1.0)
            self.in_flight += 1
        try:
            return await handler(request)
        finally:
            if streaming:
                self.streams -= 1
            else:
                self.in_flight -= 1


def _refuse(status: int, code: str, message: str, retry_after: float) -> web.Response:
    body = orjson.dumps({"error": code, "message": message, "errors": []})
    return web.Response(
        status=status,
        body=body,
        content_type="application/json",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


SHEDDER_KEY = web.AppKey("oppbus_load_shedder", LoadShedder)


def install_limits(app: web.Application, limits: Limits) -> LoadShedder:
    """Put the load shedder first in ``app``'s middlewares (outermost: it runs before anything)."""
    shedder = LoadShedder(limits)
    app[SHEDDER_KEY] = shedder
    app.middlewares.insert(0, shedder.middleware)
    return shedder
