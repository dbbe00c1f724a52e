"""Pages of a list endpoint: ``?limit=`` (default 100, max 1000) and an opaque ``next`` cursor.

Every list is sorted by a key that never changes for an item (a partner id, an offer's time and
referral id, ...), so the order is stable while the list grows or items change status. The body
carries ``next``: a cursor for the following page, or null on the last one; the client passes it
back as ``?next=``. A cursor is the sort key of the page's last item, base64url-encoded: opaque to
clients, meaningful to every API process (no server-side state).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import orjson
from aiohttp import web

from connectors.http.errors import ApiError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PAGE_PARAMS", "page"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# OpenAPI parameters of every paged list (connectors/http/openapi.py)
PAGE_PARAMS = (
    ("limit", "query", f"items per page, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT})"),
    ("next", "query", "the `next` cursor of the previous page"),
)

T = TypeVar("T")
SortKey = tuple[str | int | float, ...]


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            400, f"limit: an integer from 1 to {MAX_LIMIT}, got {raw[:20]!r}", code="bad_limit"
        )
    return int(raw)


def _after(request: web.Request) -> SortKey | None:
    raw = request.query.get("next")
    if not raw:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, list) or not all(isinstance(k, str | int | float) for k in key):
        raise ApiError(400, "next: not a cursor this endpoint gave", code="bad_cursor")
    return tuple(key)


def _cursor(key: SortKey) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def page(
    request: web.Request, items: Iterable[T], key: Callable[[T], SortKey]
) -> tuple[list[T], str | None]:
    """The page of ``items`` (sorted by ``key``) the request asks for, and the next cursor."""
    limit = _limit(request)
    after = _after(request)
    ordered: Sequence[tuple[SortKey, T]] = sorted(
        ((key(item), item) for item in items), key=lambda pair: pair[0]
    )
    if after is not None:
        try:
            ordered = [pair for pair in ordered if pair[0] > after]
        except TypeError:  # a cursor of another list: its parts do not compare
            raise ApiError(
                400, "next: not a cursor this endpoint gave", code="bad_cursor"
            ) from None
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return [item for _, item in chunk], (_cursor(chunk[-1][0]) if more and chunk else None)
