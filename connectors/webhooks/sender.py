"""The HTTP side of a delivery: one POST, no redirects, a hard timeout, the SSRF guard.

The guard runs on the URL (:func:`check_url`), on every resolved address and on the address each
socket connects to (the connector's socket factory), see :mod:`connectors.webhooks.ssrf`. A refused
or failed attempt is reported without network detail ("refused: destination not allowed",
"connection failed"): the delivery log is not a port scanner.

:class:`Sender` is the port the dispatcher depends on (tests inject their own); :class:`HttpSender`
is the aiohttp adapter. It never raises for a failed attempt: the result says what happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver

from connectors.webhooks.ssrf import (
    REFUSED,
    GuardedResolver,
    TargetPolicy,
    UnsafeTarget,
    check_url,
    guarded_socket_factory,
)

__all__ = ["AttemptResult", "HttpSender", "Sender"]

_MAX_RESPONSE_BYTES = 4096


@dataclass(frozen=True)
class AttemptResult:
    """``status`` is the HTTP status, or None when there was no answer (``error`` says why);
    ``unsafe`` marks a target the SSRF guard refused (never retried)."""

    status: int | None
    error: str | None
    duration_ms: int
    unsafe: bool = False


class Sender(Protocol):
    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float
    ) -> AttemptResult: ...

    async def close(self) -> None: ...


class HttpSender:
    """POSTs with aiohttp through the guarded resolver; one connection pool for all partners.

    No per-host connection limit by default: partners often share a host (an integration
    platform), and a hanging endpoint must not hold a connection slot another partner needs.
    The dispatcher bounds concurrency itself (one request per partner, a global semaphore)."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        limit: int = 0,
        limit_per_host: int = 0,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._policy, self._resolver),
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                ttl_dns_cache=0,
                socket_factory=guarded_socket_factory(self._policy),
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
            )
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float
    ) -> AttemptResult:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            check_url(url, self._policy)
        except UnsafeTarget:
            return AttemptResult(None, f"refused: {REFUSED}", 0, unsafe=True)
        try:
            async with asyncio.timeout(timeout_s):
                async with self._client().post(
                    url,
                    data=body,
                    headers=dict(headers),
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout_s),
                ) as resp:
                    await resp.content.read(_MAX_RESPONSE_BYTES)
                    return AttemptResult(resp.status, None, elapsed())
        except TimeoutError:
            return AttemptResult(None, f"timeout after {timeout_s:g} s", elapsed())
        except (aiohttp.ClientError, OSError) as exc:
            if REFUSED in f"{exc} {exc.__cause__} {getattr(exc, 'os_error', '')}":
                return AttemptResult(None, f"refused: {REFUSED}", elapsed(), unsafe=True)
            if isinstance(exc, aiohttp.ClientConnectorError):
                # No OS detail (refused, unreachable, reset): the log must not map networks.
                return AttemptResult(None, "connection failed", elapsed())
            return AttemptResult(None, type(exc).__name__, elapsed())

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
