"""Dead-letter records: built from any failed input without raising, small enough to publish."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import MAX_EVENT_BYTES, decode, encode
from schemas.compatibility import breaking_changes, frozen_schema
from schemas.documents import json_schema
from schemas.errors import FieldError, InvalidEvent
from schemas.operations import DEADLETTER_VALUE_BYTES, dead_letter

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ANY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

errors = st.builds(
    InvalidEvent,
    st.text(max_size=300),
    st.text(max_size=3000),
    st.lists(st.builds(FieldError, st.text(max_size=500), st.text(max_size=2000),
                       st.text(max_size=100)), max_size=5),
)  # fmt: skip
header_lists = st.lists(
    st.tuples(st.text(max_size=2000), st.none() | st.binary(max_size=3000)), max_size=70
)


@ANY
@given(
    errors,
    st.text(max_size=400),
    st.integers(-(2**40), 2**40),
    st.integers(-(2**62), 2**62),
    st.none() | st.binary(max_size=20_000),
    st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode),
    header_lists,
    st.text(max_size=200),
)
def test_any_failed_input_gives_a_publishable_record(
    error, topic, partition, offset, key, value, headers, consumer
) -> None:  # type: ignore[no-untyped-def]
    dl = dead_letter(
        error, source_topic=topic, partition=partition, offset=offset, key=key, value=value,
        headers=headers, at=AT, consumer=consumer,
    )  # fmt: skip
    enc = encode(dl, source="urn:test")
    assert len(enc.value) <= MAX_EVENT_BYTES
    assert decode(enc.value, enc.headers).event == dl
    assert dl.original_value() == value and dl.value_size == len(value) and not dl.value_truncated


def test_an_oversized_input_is_cut_but_stays_publishable() -> None:
    huge = ("é" * (MAX_EVENT_BYTES)).encode()  # 2 MiB of 2-byte characters
    dl = dead_letter(
        InvalidEvent("too_large", "2 MiB"), source_topic="oppbus.opportunities", partition=0,
        offset=5, key=b"k" * 100_000, value=huge, at=AT,
    )  # fmt: skip
    assert dl.value_truncated and dl.value_size == len(huge) and dl.value_encoding == "utf-8"
    kept = dl.original_value()
    assert (
        huge.startswith(kept) and DEADLETTER_VALUE_BYTES - 4 < len(kept) <= DEADLETTER_VALUE_BYTES
    )
    binary = dead_letter(
        InvalidEvent("too_large"), source_topic="t", partition=0, offset=0, key=None,
        value=b"\xff" * (2 * MAX_EVENT_BYTES), at=AT,
    )  # fmt: skip
    assert (
        binary.value_encoding == "base64" and len(binary.original_value()) == DEADLETTER_VALUE_BYTES
    )
    for record in (dl, binary):
        enc = encode(record, source="urn:test")
        assert len(enc.value) < MAX_EVENT_BYTES // 2
        assert decode(enc.value, enc.headers).event == record


def test_the_added_dead_letter_fields_are_a_compatible_change() -> None:
    old = frozen_schema("v1", "deadletter.recorded.v1")
    assert old is not None and "value_truncated" not in old["properties"]
    assert breaking_changes(old, json_schema("io.oppbus.deadletter.recorded.v1")) == []
