"""The one codec of the bus: CloudEvents 1.0, Kafka binary binding, orjson body.

Headers: ``ce_specversion`` (``1.0``), ``ce_id``, ``ce_source``, ``ce_type``, ``ce_time`` (RFC 3339,
UTC), ``content-type: application/json``, optional ``ce_dataschema``. The value is the event's JSON
(one ``orjson.dumps``). The schema version is the ``.vN`` suffix of ``ce_type``.

Hot paths call :func:`encode` / :func:`decode` on raw bytes (Faust ``value_serializer="raw"``);
:func:`decode` raises :class:`~schemas.errors.InvalidEvent` for every bad input and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.common import Contract
from schemas.errors import InvalidEvent, field_errors
from schemas.events import EVENT_TYPES, type_of

__all__ = [
    "CONTENT_TYPE",
    "MAX_EVENT_BYTES",
    "SPECVERSION",
    "Encoded",
    "Envelope",
    "Headers",
    "decode",
    "decode_data",
    "encode",
    "header",
]

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# Largest value accepted (Kafka's default max.message.bytes is ~1 MiB): bigger values are rejected
# before parsing, so a hostile producer cannot make a worker parse megabytes.
MAX_EVENT_BYTES = 1_048_576
_MAX_HEADER_BYTES = 1024

Headers = Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None]


@dataclass(frozen=True, slots=True)
class Encoded:
    """What to hand to a Kafka producer: the value and the headers."""

    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded event with its CloudEvents attributes."""

    id: str
    source: str
    type: str
    time: datetime
    event: Contract
    dataschema: str | None = None


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode(
    event: Contract,
    *,
    source: str,
    id: str | None = None,  # the CloudEvents attribute name
    time: datetime | None = None,
    dataschema: str | None = None,
) -> Encoded:
    """Serialise a bus event: orjson body + ``ce_*`` headers. ``time`` must be timezone-aware."""
    ce_type = type_of(event)
    if not source:
        raise ValueError("source must be a non-empty URI-reference")
    if time is not None and time.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", (id or uuid.uuid4().hex).encode()),
        ("ce_source", source.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_time", _rfc3339(time or datetime.now(UTC)).encode()),
        ("content-type", b"application/json"),
    ]
    if dataschema:
        headers.append(("ce_dataschema", dataschema.encode()))
    return Encoded(orjson.dumps(event.model_dump(mode="json")), headers)


def _header_map(headers: Headers | None) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    out: dict[str, str] = {}
    for item in items:
        try:
            name, raw = item
        except (TypeError, ValueError):
            raise InvalidEvent("bad_header", "headers must be (name, bytes) pairs") from None
        if not isinstance(name, str) or not (name.startswith("ce_") or name == "content-type"):
            continue
        if name in out:  # the first occurrence wins, as in the CloudEvents Kafka binding
            continue
        if raw is None:
            raise InvalidEvent("bad_header", f"header {name} has no value")
        if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) > _MAX_HEADER_BYTES:
            raise InvalidEvent(
                "bad_header", f"header {name} must be at most {_MAX_HEADER_BYTES} bytes"
            )
        try:
            out[name] = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent("bad_header", f"header {name} is not UTF-8") from None
    return out


def header(headers: Headers | None, name: str) -> str | None:
    """One header as text (e.g. ``ce_type`` to route before decoding); None when absent or bad."""
    try:
        return _header_map(headers).get(name)
    except InvalidEvent:
        return None


def _required(attrs: dict[str, str], name: str) -> str:
    value = attrs.get(name)
    if not value:
        raise InvalidEvent("missing_header", f"header {name} is missing or empty")
    return value


def _parse_time(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent("bad_header", f"ce_time is not RFC 3339: {text[:64]!r}") from None
    if t.tzinfo is None:
        raise InvalidEvent("bad_header", "ce_time must carry a UTC offset")
    return t.astimezone(UTC)


def decode_data(ce_type: str, data: Any) -> Contract:
    """Validate already-parsed JSON ``data`` as the event of ``ce_type``."""
    model = EVENT_TYPES.get(ce_type)
    if model is None:
        raise InvalidEvent("unknown_type", f"unknown event type {ce_type[:200]!r}")
    if not isinstance(data, dict):
        raise InvalidEvent("not_an_object", "the event body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InvalidEvent(
            "schema", f"{len(errors)} invalid field(s) in {ce_type}", errors
        ) from None


def _decode(value: bytes, headers: Headers | None) -> Envelope:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidEvent("not_json", "the value is missing")
    if len(value) > MAX_EVENT_BYTES:
        raise InvalidEvent("too_large", f"{len(value)} bytes > {MAX_EVENT_BYTES}")
    attrs = _header_map(headers)
    specversion = _required(attrs, "ce_specversion")
    if specversion != SPECVERSION:
        raise InvalidEvent("unsupported_specversion", f"ce_specversion {specversion[:20]!r}")
    content_type = attrs.get("content-type", CONTENT_TYPE)
    if content_type.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
        raise InvalidEvent("unsupported_content_type", f"content-type {content_type[:80]!r}")
    ce_type = _required(attrs, "ce_type")
    ce_id = _required(attrs, "ce_id")
    source = _required(attrs, "ce_source")
    time = _parse_time(_required(attrs, "ce_time"))
    if ce_type not in EVENT_TYPES:
        raise InvalidEvent("unknown_type", f"unknown event type {ce_type[:200]!r}")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("not_json", f"the value is not JSON: {str(exc)[:200]}") from None
    event = decode_data(ce_type, data)
    return Envelope(ce_id, source, ce_type, time, event, attrs.get("ce_dataschema"))


def decode(value: bytes, headers: Headers | None) -> Envelope:
    """Parse and validate one Kafka record value + headers; raises :class:`InvalidEvent` only."""
    try:
        return _decode(value, headers)
    except InvalidEvent:
        raise
    except Exception as exc:  # a bug here must not crash a worker: the input goes dead-letter
        raise InvalidEvent("internal", f"{type(exc).__name__}: {str(exc)[:200]}") from exc
