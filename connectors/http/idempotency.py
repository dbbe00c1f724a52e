"""``Idempotency-Key`` on POSTs (IETF draft-ietf-httpapi-idempotency-key-header semantics).

The first request with a key runs; its successful response is kept (per caller, method and path)
and a retry with the same key and the same body gets that response again, marked
``Idempotent-Replayed: true``, without publishing anything. The same key with a different body is
a ``422``; a retry while the first is still running is a ``409``. Refused requests (4xx/5xx) are
not kept, so a corrected retry may reuse the key. Keys and responses live on the log for a day
(connectors/http/guards.py), so every API process, and a restarted one, answers a retry the same.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from connectors.http.errors import ApiError

__all__ = ["IdempotentRunner", "with_idempotency"]

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")


class IdempotentRunner(Protocol):
    """Runs a request under its key: connectors.http.guards.SharedIdempotency."""

    async def run(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        handler: Callable[[], Awaitable[web.Response]],
    ) -> web.Response: ...


async def with_idempotency(
    store: IdempotentRunner,
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
