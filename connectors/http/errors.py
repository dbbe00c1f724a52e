"""Errors as a policy: every failure of a request becomes one JSON body, never a bare 500.

Body shape (all error responses)::

    {"error": "validation_failed", "message": "...", "errors": [{"field", "message", "type"}]}

``errors`` lists each bad field (the contracts' :class:`schemas.errors.FieldError`) for 422, and is
empty otherwise. Bodies are read through :func:`read_json`, which enforces the size limit (413),
the content type (415), JSON syntax (400) and the pydantic model (422) *before* anything else runs,
so a rejected request never reaches the publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.http.metrics import REJECTED
from schemas.errors import FieldError, field_errors
from schemas.input_rules import input_errors

__all__ = [
    "DEFAULT_MAX_BODY",
    "ApiError",
    "JsonObject",
    "error_middleware",
    "json_response",
    "read_body",
    "read_json",
    "validate",
]

log = logging.getLogger("oppbus.api")

DEFAULT_MAX_BODY = 64 * 1024
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    503: "unavailable",
}


class ApiError(Exception):
    """A request the API refuses, with the status and the machine-readable code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _REASONS.get(status, "error")
        self.message = message
        self.errors = list(errors)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "errors": [
                {"field": e.field, "message": e.message, "type": e.type} for e in self.errors
            ],
        }


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response encoded by orjson (the one codec); pydantic models are dumped as JSON."""
    if isinstance(body, BaseModel):
        data = body.model_dump_json().encode()
    else:
        data = orjson.dumps(body, default=_default)
    return web.Response(body=data, status=status, content_type="application/json", headers=headers)


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def validate(model: type[M], data: Any) -> M:
    """``model.model_validate(data)`` and the input rules (``schemas.input_rules``: no control or
    bidi characters, industry codes, a plausible ``expected_close``); a failure is a 422 naming
    each bad field."""
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, f"invalid {model.__name__}", errors=field_errors(exc)) from None
    errors = input_errors(value, datetime.now(UTC).date())
    if errors:
        raise ApiError(422, f"invalid {model.__name__}", errors=errors)
    return value


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The raw body, at most ``max_bytes`` (else 413). The load shedder has usually read it
    already, within its deadline; aiohttp keeps it, so this costs nothing then."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, f"request body larger than {max_bytes} bytes")
    raw = await request.read()
    if len(raw) > max_bytes:
        raise ApiError(413, f"request body larger than {max_bytes} bytes")
    return raw


class JsonObject(BaseModel):
    """Any JSON object, as it came (``model_extra``): a merge patch, a vendor's document."""

    model_config = ConfigDict(extra="allow")


async def read_json(
    request: web.Request,
    model: type[M],
    *,
    max_bytes: int = DEFAULT_MAX_BODY,
    allow_empty: bool = False,
) -> tuple[M, bytes]:
    """The validated body and its raw bytes (for idempotency fingerprints).

    ``allow_empty``: an absent body counts as ``{}`` (for actions whose fields are all optional).
    """
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, f"request body larger than {max_bytes} bytes")
    raw = await read_body(request, max_bytes)
    if allow_empty and not raw.strip():
        return validate(model, {}), b""
    ctype = request.headers.get("Content-Type", "application/json")
    media = ctype.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "send the body as application/json")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}", code="malformed_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", code="malformed_json")
    return validate(model, data), bytes(raw)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        request[REJECTED] = exc.code
        return json_response(exc.body(), status=exc.status, headers=exc.headers)
    except web.HTTPRequestEntityTooLarge:
        request[REJECTED] = "payload_too_large"
        return json_response(ApiError(413, "request body too large").body(), status=413)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err = ApiError(exc.status, exc.reason)
        return json_response(err.body(), status=exc.status, headers=_allow(exc))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        err = ApiError(500, "internal error", code="internal_error")
        return json_response(err.body(), status=500)


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
