"""Property tests of the codec: valid events round-trip; mutated ones fail with field-level reasons."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import decode, encode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from schemas.events import EVENT_TYPES, type_of
from tests.unit.event_strategies import events, events_of

# The machine is shared: generation speed is not a property of the code under test.
_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=_QUIET)


def _fields_named(exc: InvalidEvent, name: str) -> bool:
    return any(e.field == name or e.field.startswith(name + ".") for e in exc.errors)


def _decode_invalid(value: bytes, headers: Any) -> InvalidEvent:
    try:
        decode(value, headers)
    except InvalidEvent as exc:
        return exc
    raise AssertionError("an invalid event was accepted")


def test_every_type_has_a_strategy() -> None:
    for ce_type in EVENT_TYPES:
        assert events_of(ce_type) is not None


@settings(FAST, max_examples=25)  # each example draws one event of every type
@given(st.data())
def test_any_valid_event_round_trips(data: st.DataObject) -> None:
    for ce_type in sorted(EVENT_TYPES):
        event = data.draw(events_of(ce_type), label=ce_type)
        enc = encode(event, source="urn:oppbus:test")
        env = decode(enc.value, enc.headers)
        assert env.type == ce_type == type_of(event)
        assert env.event == event
        # and the JSON form is a fixed point: encoding the decoded event gives the same bytes
        assert encode(env.event, source="x").value == enc.value


@FAST
@given(events(), st.data())
def test_dropping_a_required_field_names_it(event: Contract, data: st.DataObject) -> None:
    required = sorted(n for n, f in type(event).model_fields.items() if f.is_required())
    name = data.draw(st.sampled_from(required))
    enc = encode(event, source="urn:test")
    body = orjson.loads(enc.value)
    del body[name]
    exc = _decode_invalid(orjson.dumps(body), enc.headers)
    assert exc.reason == "schema" and _fields_named(exc, name)


WRONG = st.sampled_from([{"\x00": [None]}, [[{}]], "\ud7ff" * 3, 1.5, -(2**63), True, None])


@FAST
@given(events(), st.data())
def test_a_wrong_value_is_rejected_with_its_field(event: Contract, data: st.DataObject) -> None:
    enc = encode(event, source="urn:test")
    body = orjson.loads(enc.value)
    name = data.draw(st.sampled_from(sorted(body)))
    wrong = data.draw(WRONG)
    body[name] = wrong
    try:
        env = decode(orjson.dumps(body), enc.headers)
    except InvalidEvent as exc:
        assert exc.reason == "schema" and _fields_named(exc, name), exc.errors
    else:  # a field may accept one of them (None when optional, text for free text) but as is:
        assert orjson.loads(encode(env.event, source="x").value)[name] == wrong  # never coerced


@FAST
@given(events(), st.text(min_size=1, max_size=10).filter(lambda s: s.isidentifier()))
def test_an_unknown_field_is_rejected_by_name(event: Contract, extra: str) -> None:
    enc = encode(event, source="urn:test")
    body = orjson.loads(enc.value)
    if extra in body:
        return
    body[extra] = 1
    exc = _decode_invalid(orjson.dumps(body), enc.headers)
    assert exc.reason == "schema" and [e.field for e in exc.errors] == [extra]


@settings(max_examples=150, deadline=None, suppress_health_check=_QUIET)
@given(
    st.binary(max_size=300),
    st.lists(st.tuples(st.sampled_from(["ce_type", "ce_id", "ce_time", "ce_source",
                                        "ce_specversion", "content-type", "x"]),
                       st.binary(max_size=40) | st.none()), max_size=8),
)  # fmt: skip
def test_garbage_never_crashes(value: bytes, headers: list[tuple[str, bytes | None]]) -> None:
    try:
        decode(value, headers)
    except InvalidEvent as exc:
        assert exc.reason and isinstance(exc.errors, list)


@FAST
@given(events(), st.integers(min_value=0), st.binary(min_size=1, max_size=4))
def test_corrupted_bytes_never_crash(event: Contract, at: int, junk: bytes) -> None:
    enc = encode(event, source="urn:test")
    i = at % len(enc.value)
    value = enc.value[:i] + junk + enc.value[i + len(junk) :]
    try:
        env = decode(value, enc.headers)
    except InvalidEvent as exc:
        assert exc.reason in {"not_json", "not_an_object", "schema"}
    else:
        assert type(env.event) is type(event)
