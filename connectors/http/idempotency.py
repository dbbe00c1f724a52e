"""``Idempotency-Key`` on POSTs (IETF draft-ietf-httpapi-idempotency-key-header semantics).

The first request with a key runs; its successful response is kept (per caller, method and path)
and a retry with the same key and the same body gets that response again, marked
``Idempotent-Replayed: true``, without publishing anything. The same key with a different body is
a ``422``; a retry while the first is still running is a ``409``. Refused requests (4xx/5xx) are
not kept, so a corrected retry may reuse the key. Entries live in memory for ``ttl_s`` (one API
process; the bus-level guarantees — one opportunity per originator and id, idempotent ledger —
hold across processes anyway).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from connectors.http.errors import ApiError

__all__ = ["IdempotencyStore", "Stored", "with_idempotency"]

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")
REPLAYED = "Idempotent-Replayed"


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes
    content_type: str
    fingerprint: str
    at: float


class IdempotencyStore:
    """Responses by (scope, key), bounded in size and age."""

    def __init__(self, *, max_entries: int = 10_000, ttl_s: float = 24 * 3600.0) -> None:
        self._max = max_entries
        self._ttl = ttl_s
        self._done: OrderedDict[tuple[str, str], Stored] = OrderedDict()
        self._running: dict[tuple[str, str], str] = {}

    def _expire(self, now: float) -> None:
        while self._done:
            k, stored = next(iter(self._done.items()))
            if now - stored.at <= self._ttl and len(self._done) <= self._max:
                break
            del self._done[k]

    async def run(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        handler: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        now = time.monotonic()
        self._expire(now)
        slot = (scope, key)
        stored = self._done.get(slot)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "this Idempotency-Key was used with a different request body",
                    code="idempotency_key_reused",
                )
            return web.Response(
                body=stored.body,
                status=stored.status,
                content_type=stored.content_type,
                headers={REPLAYED: "true"},
            )
        if slot in self._running:
            raise ApiError(
                409,
                "a request with this Idempotency-Key is still being processed",
                code="idempotency_key_in_use",
            )
        self._running[slot] = fingerprint
        try:
            response = await handler()
        finally:
            del self._running[slot]
        if 200 <= response.status < 300 and isinstance(response.body, bytes):
            self._done[slot] = Stored(
                status=response.status,
                body=response.body,
                content_type=response.content_type,
                fingerprint=fingerprint,
                at=now,
            )
        return response

    def __len__(self) -> int:
        return len(self._done)


async def with_idempotency(
    store: IdempotencyStore,
    request: web.Request,
    caller: str,
    raw_body: bytes,
    handler: Callable[[], Awaitable[web.Response]],
) -> web.Response:
    """Run ``handler`` under the request's ``Idempotency-Key`` if it has one."""
    key = request.headers.get(HEADER)
    if key is None:
        return await handler()
    key = key.strip().strip('"')
    if not _KEY.fullmatch(key):
        raise ApiError(400, "Idempotency-Key must be 1-255 printable ASCII characters")
    scope = f"{caller} {request.method} {request.path}"
    fingerprint = hashlib.sha256(raw_body).hexdigest()
    return await store.run(scope, key, fingerprint, handler)
