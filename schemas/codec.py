"""The one codec of the bus: CloudEvents 1.0, Kafka binary binding, orjson body.

Headers: ``ce_specversion`` (``1.0``), ``ce_id``, ``ce_source``, ``ce_type``, ``ce_time`` (RFC 3339,
UTC), ``content-type: application/json``, optional ``ce_dataschema``. The value is the event's JSON
(one ``orjson.dumps``). The schema version is the ``.vN`` suffix of ``ce_type``.

Hot paths call :func:`encode` / :func:`decode` on raw bytes (Faust ``value_serializer="raw"``);
:func:`decode` raises :class:`~schemas.errors.InvalidEvent` for every bad input and nothing else.
:func:`decode` parses and validates the body in one pydantic-core call (``model_validate_json``):
the same rules as ``orjson.loads`` + ``model_validate`` (the test suite runs both ways through
:func:`decode_data`), measured faster by ``oppbus bench codec``. Private fields (customer,
secrets) are encrypted by :func:`encode` and decrypted by :func:`decode` when the process holds
data keys (schemas/field_crypto.py); a value holding one takes the parse-then-validate path. Everything that writes JSON uses orjson.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import orjson
from pydantic import ValidationError

from schemas.common import Contract
from schemas.errors import InvalidEvent, field_errors
from schemas.events import EVENT_TYPES, type_of
from schemas.field_crypto import decrypt_fields, encrypt_fields, has_encrypted

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
    "validate_stored",
]

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# Largest value accepted (Kafka's default max.message.bytes is ~1 MiB): bigger values are rejected
# before parsing, so a hostile producer cannot make a worker parse megabytes.
MAX_EVENT_BYTES = 1_048_576
_MAX_HEADER_BYTES = 1024

C = TypeVar("C", bound=Contract)

Headers = Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None]


class Encoded(NamedTuple):
    """What to hand to a Kafka producer: the value and the headers."""

    value: bytes
    headers: list[tuple[str, bytes]]


class Envelope(NamedTuple):
    """A decoded event with its CloudEvents attributes (immutable)."""

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
    data = event.model_dump(mode="json")
    encrypt_fields(ce_type, data)  # the private fields, when the process holds data keys
    return Encoded(orjson.dumps(data), headers)


_WANTED = frozenset(
    ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_dataschema", "content-type")
)


def _slow_text(name: str, raw: object) -> str:
    if raw is None:
        raise InvalidEvent("bad_header", f"header {name} has no value")
    if isinstance(raw, bytearray | memoryview) and len(raw) <= _MAX_HEADER_BYTES:
        return bytes(raw).decode("utf-8")
    raise InvalidEvent("bad_header", f"header {name} must be at most {_MAX_HEADER_BYTES} bytes")


def _header_map(headers: Headers | None) -> dict[str, str]:
    """The CloudEvents headers we use, as text; the first occurrence of a name wins."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    out: dict[str, str] = {}
    try:
        for name, raw in items:
            if name in _WANTED and name not in out:
                if type(raw) is bytes and len(raw) <= _MAX_HEADER_BYTES:
                    out[name] = raw.decode("utf-8")  # the hot path: aiokafka gives bytes
                else:
                    out[name] = _slow_text(name, raw)
    except UnicodeDecodeError:
        raise InvalidEvent("bad_header", "a ce_* header is not UTF-8") from None
    except (TypeError, ValueError):
        raise InvalidEvent("bad_header", "headers must be (name, bytes) pairs") from None
    return out


def header(headers: Headers | None, name: str) -> str | None:
    """One header as text (e.g. ``ce_type`` to route before decoding); None when absent or bad."""
    try:
        return _header_map(headers).get(name)
    except InvalidEvent:
        return None


_REQUIRED = ("ce_specversion", "ce_type", "ce_id", "ce_source", "ce_time")


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
    decrypt_fields(ce_type, data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InvalidEvent(
            "schema", f"{len(errors)} invalid field(s) in {ce_type}", errors
        ) from None


def _validate_json(ce_type: str, model: type[Contract], value: bytes) -> Contract:
    """Parse and validate in one step (pydantic-core's parser: measured 1.4x orjson.loads +
    model_validate on opportunity events, see ``oppbus bench codec``); same rules, same errors."""
    try:
        return model.model_validate_json(value if type(value) is bytes else bytes(value))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if exc.error_count() == 1 and not first["loc"]:
            if first["type"] == "json_invalid":
                raise InvalidEvent(
                    "not_json", f"the value is not JSON: {first['msg'][:200]}"
                ) from None
            if first["type"] == "model_type":
                raise InvalidEvent(
                    "not_an_object", "the event body must be a JSON object"
                ) from None
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
    try:  # one lookup each; an empty value counts as missing
        specversion, ce_type, ce_id, source, ce_time = (
            attrs["ce_specversion"], attrs["ce_type"], attrs["ce_id"], attrs["ce_source"],
            attrs["ce_time"],
        )  # fmt: skip
    except KeyError as exc:
        raise InvalidEvent("missing_header", f"header {exc.args[0]} is missing") from None
    if not (specversion and ce_type and ce_id and source and ce_time):
        for name in _REQUIRED:
            _required(attrs, name)
    if specversion != SPECVERSION:
        raise InvalidEvent("unsupported_specversion", f"ce_specversion {specversion[:20]!r}")
    content_type = attrs.get("content-type", CONTENT_TYPE)
    if content_type != CONTENT_TYPE and content_type.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise InvalidEvent("unsupported_content_type", f"content-type {content_type[:80]!r}")
    time = _parse_time(ce_time)
    model = EVENT_TYPES.get(ce_type)
    if model is None:
        raise InvalidEvent("unknown_type", f"unknown event type {ce_type[:200]!r}")
    if has_encrypted(value):  # private fields encrypted on the log (schemas/field_crypto.py)
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent("not_json", f"the value is not JSON: {str(exc)[:200]}") from None
        event = decode_data(ce_type, data)
    else:
        event = _validate_json(ce_type, model, value)
    return Envelope(ce_id, source, ce_type, time, event, attrs.get("ce_dataschema"))


def validate_stored(model: type[C], raw: bytes) -> C:
    """An event's data kept as its record carried it (a table row): decrypted, then validated."""
    if not has_encrypted(raw):
        return model.model_validate_json(raw)
    data = orjson.loads(raw)
    decrypt_fields(type_of(model), data)
    return model.model_validate(data)


def decode(value: bytes, headers: Headers | None) -> Envelope:
    """Parse and validate one Kafka record value + headers; raises :class:`InvalidEvent` only."""
    try:
        return _decode(value, headers)
    except InvalidEvent:
        raise
    except Exception as exc:  # a bug here must not crash a worker: the input goes dead-letter
        raise InvalidEvent("internal", f"{type(exc).__name__}: {str(exc)[:200]}") from exc
