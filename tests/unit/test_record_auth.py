"""The bus's record MAC: what the bus wrote passes, anything else or anything altered is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from schemas.errors import InvalidEvent
from streams.record_auth import MAC_HEADER, RecordAuth
from streams.settings import load_settings

AUTH = RecordAuth([b"k" * 32])
TOPIC = "oppbus.partners"
HEADERS = [("ce_type", b"io.oppbus.partner.updated.v1"), ("ce_id", b"e1")]


def _refused(auth: RecordAuth, *args: object) -> str:
    with pytest.raises(InvalidEvent) as info:
        auth.check(*args)  # type: ignore[arg-type]
    assert info.value.reason == "unauthenticated"
    return info.value.detail


def test_a_stamped_record_passes_and_each_alteration_is_refused() -> None:
    headers = AUTH.stamp(TOPIC, b"acme", b"{}", HEADERS)
    AUTH.check(TOPIC, b"acme", b"{}", headers)
    assert "bad MAC" in _refused(AUTH, TOPIC, b"rival", b"{}", headers)  # another key
    assert "bad MAC" in _refused(AUTH, TOPIC, b"acme", b'{"a":1}', headers)  # another value
    assert "bad MAC" in _refused(AUTH, "oppbus.credentials", b"acme", b"{}", headers)  # topic
    swapped = [("ce_type", b"io.oppbus.credential.v1"), *headers[1:]]
    assert "bad MAC" in _refused(AUTH, TOPIC, b"acme", b"{}", swapped)  # a header
    assert "bad MAC" in _refused(AUTH, TOPIC, None, b"{}", headers)  # no key is not an empty key


def test_missing_doubled_and_foreign_macs_are_refused() -> None:
    headers = AUTH.stamp(TOPIC, b"acme", b"{}", HEADERS)
    assert "no oppbus-mac" in _refused(AUTH, TOPIC, b"acme", b"{}", HEADERS)
    assert "one oppbus-mac" in _refused(AUTH, TOPIC, b"acme", b"{}", [*headers, headers[-1]])
    other = RecordAuth([b"another key"]).stamp(TOPIC, b"acme", b"{}", HEADERS)
    assert "does not hold" in _refused(AUTH, TOPIC, b"acme", b"{}", other)


def test_a_rotated_ring_signs_with_the_new_key_and_still_verifies_the_old() -> None:
    old, new = b"old-key", b"new-key"
    before = RecordAuth([old]).stamp(TOPIC, b"acme", b"{}", HEADERS)
    ring = RecordAuth([new, old])
    ring.check(TOPIC, b"acme", b"{}", before)
    after = ring.stamp(TOPIC, b"acme", b"{}", HEADERS)
    RecordAuth([new]).check(TOPIC, b"acme", b"{}", after)
    _refused(RecordAuth([old]), TOPIC, b"acme", b"{}", after)


def test_the_ring_comes_from_the_settings_comma_separated() -> None:
    settings = load_settings({}, env={"OPPBUS_SERVICE_KEY": "new-key, old-key"})
    before = RecordAuth([b"old-key"]).stamp(TOPIC, b"k", b"v", HEADERS)
    RecordAuth.from_settings(settings).check(TOPIC, b"k", b"v", before)
    assert "new-key" not in repr(settings)


def test_every_settings_object_gets_its_own_fresh_key() -> None:
    a, b = load_settings({}, env={}), load_settings({}, env={})
    assert isinstance(a.service_key, SecretStr)
    assert a.service_key.get_secret_value() != b.service_key.get_secret_value()


@given(
    key=st.none() | st.binary(max_size=20),
    value=st.binary(max_size=200),
    headers=st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=20)), max_size=5),
    flip=st.integers(min_value=0),
)
def test_any_record_round_trips_and_any_flipped_value_byte_is_refused(
    key: bytes | None, value: bytes, headers: list[tuple[str, bytes]], flip: int
) -> None:
    headers = [(n, v) for n, v in headers if n != MAC_HEADER]
    stamped = AUTH.stamp(TOPIC, key, value, headers)
    AUTH.check(TOPIC, key, value, stamped)
    if value:
        i = flip % len(value)
        altered = value[:i] + bytes([value[i] ^ 1]) + value[i + 1 :]
        _refused(AUTH, TOPIC, key, altered, stamped)
