"""Load shedding for the HTTP API: refuse early and cheaply what cannot be served.

Checked before a handler runs, so a burst costs the server almost nothing and a refused request
publishes nothing:

- **per client** (token bucket): ``rate_per_client`` requests per second with bursts of
  ``burst_per_client``; beyond that ``429`` with ``Retry-After``. The client is the authenticated
  principal (a partner, the operator), else the remote address — never the raw ``Authorization``
  header, so spelling one key differently (``bEaReR   KEY``) does not buy another bucket.
- **request bodies** are read in full, within ``body_timeout_s`` (else ``408``), *before* the
  request counts as in flight; one client (principal, else remote address) may have at most
  ``max_reading_per_client`` bodies unfinished at once (more: ``429``). A slow-body attack therefore holds none of the
  in-flight slots other partners need.
- **in flight** (server-wide): at most ``max_in_flight`` ordinary requests are processed at once;
  the next one is answered ``503`` with ``Retry-After`` at once instead of queueing behind them.
- **lead streams** (``.../stream``) have their own caps, ``max_streams`` server-wide and
  ``max_streams_per_client`` per principal, so open SSE connections never eat the request budget
  and one partner cannot take every stream slot.

``/healthz``, ``/livez`` and ``/metrics`` are exempt: probes must see an overloaded server as alive.
A request that was accepted (``202``) is never shed afterwards: shedding happens before the
handler runs, never after it published. Every refusal is the API's JSON error body.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from streams.settings import Settings

__all__ = ["SHEDDER_KEY", "Limits", "LoadShedder", "install_limits"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Identify = Callable[[web.Request], str | None]
EXEMPT_PATHS = frozenset({"/healthz", "/livez", "/metrics"})
_MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 256
    max_streams: int = 256
    max_streams_per_client: int = 8
    rate_per_client: float = 500.0  # requests per second, sustained; 0 switches it off
    burst_per_client: int = 1000
    body_timeout_s: float = 10.0
    max_reading_per_client: int = 32

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_in_flight=settings.http_max_in_flight,
            max_streams=settings.http_max_streams,
            max_streams_per_client=settings.http_max_streams_per_partner,
            rate_per_client=settings.http_rate_per_client,
            burst_per_client=settings.http_burst_per_client,
            body_timeout_s=settings.http_body_timeout_s,
            max_reading_per_client=settings.http_max_reading_per_client,
        )


@dataclass
class _Bucket:
    tokens: float
    at: float


def _no_principal(request: web.Request) -> str | None:
    return None


@dataclass
class LoadShedder:
    """The state of the limits for one app; ``middleware`` is the aiohttp middleware.

    ``identify`` names the authenticated principal of a request (None: not authenticated)."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    identify: Identify = _no_principal
    in_flight: int = 0
    streams: int = 0
    shed_503: int = 0
    shed_429: int = 0
    timed_out: int = 0
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)
    _streams_of: Counter[str] = field(default_factory=Counter)
    _reading: Counter[str] = field(default_factory=Counter)

    @property
    def clients_streaming(self) -> int:
        """How many clients have a lead stream open."""
        return len(self._streams_of)

    def _client(self, request: web.Request) -> str:
        principal = self.identify(request)
        if principal is not None:
            return "p:" + principal
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

    async def _read_body(self, request: web.Request, client: str) -> web.Response | None:
        """Read the whole body within the deadline (cached by aiohttp for the handler)."""
        address = client
        if self._reading[address] >= self.limits.max_reading_per_client:
            self.shed_429 += 1
            return _refuse(429, "rate_limited", "too many unfinished requests from this client", 1)
        self._reading[address] += 1
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                await request.read()
        except TimeoutError:
            self.timed_out += 1
            message = f"the request body did not arrive within {self.limits.body_timeout_s:g} s"
            return _refuse(408, "request_timeout", message, None, close=True)
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, "payload_too_large", "request body too large", None, close=True)
        finally:
            self._reading[address] -= 1
            if not self._reading[address]:
                del self._reading[address]
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        client = self._client(request)
        wait = self.take(client)
        if wait > 0:
            self.shed_429 += 1
            return _refuse(429, "rate_limited", "too many requests from this client", wait)
        if request.body_exists:
            refused = await self._read_body(request, client)
            if refused is not None:
                return refused
        if request.path.endswith("/stream"):
            return await self._stream(request, handler, client)
        if self.in_flight >= self.limits.max_in_flight:
            self.shed_503 += 1
            return _refuse(503, "overloaded", "the server is busy, retry shortly", 1.0)
        self.in_flight += 1
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    async def _stream(
        self, request: web.Request, handler: Handler, client: str
    ) -> web.StreamResponse:
        if self._streams_of[client] >= self.limits.max_streams_per_client:
            self.shed_429 += 1
            return _refuse(429, "too_many_streams", "too many open lead streams of yours", 5.0)
        if self.streams >= self.limits.max_streams:
            self.shed_503 += 1
            return _refuse(503, "overloaded", "too many open lead streams", 5.0)
        self.streams += 1
        self._streams_of[client] += 1
        try:
            return await handler(request)
        finally:
            self.streams -= 1
            self._streams_of[client] -= 1
            if not self._streams_of[client]:
                del self._streams_of[client]


def _refuse(
    status: int, code: str, message: str, retry_after: float | None, *, close: bool = False
) -> web.Response:
    body = orjson.dumps({"error": code, "message": message, "errors": []})
    headers = {} if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
    if close:
        headers["Connection"] = "close"
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


SHEDDER_KEY = web.AppKey("oppbus_load_shedder", LoadShedder)


def install_limits(
    app: web.Application, limits: Limits, identify: Identify | None = None
) -> LoadShedder:
    """Put the load shedder first in ``app``'s middlewares (outermost: it runs before anything).

    Installing twice replaces nothing and adds nothing: the app keeps its first shedder."""
    existing = app.get(SHEDDER_KEY)
    if existing is not None:
        return existing
    shedder = LoadShedder(limits, identify=identify or _no_principal)
    app[SHEDDER_KEY] = shedder
    app.middlewares.insert(0, shedder.middleware)
    return shedder
