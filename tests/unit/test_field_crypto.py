"""Field-level encryption: private fields sealed on the way out, opened on the way in, rotatable."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.codec import decode, encode, validate_stored
from schemas.errors import InvalidEvent
from schemas.field_crypto import (
    PRIVATE_FIELDS,
    blind_index,
    fresh_keyring,
    install_data_keys,
    keys_installed,
    new_data_key,
    parse_data_keys,
)
from schemas.opportunity import Opportunity
from schemas.samples import example

OPP = "io.oppbus.opportunity.published.v1"


@pytest.fixture(autouse=True)
def fresh_ring() -> Iterator[None]:
    """Each test starts with no data keys in the process (the ring is process state)."""
    with fresh_keyring():
        yield


def test_every_private_field_is_sealed_and_comes_back_whole() -> None:
    install_data_keys(new_data_key())
    for ce_type, paths in PRIVATE_FIELDS.items():
        event = example(ce_type)
        enc = encode(event, source="urn:test")
        data = orjson.loads(enc.value)
        for path in paths:
            node = data
            for name in path.split("."):
                node = node[name]
            assert isinstance(node, str) and node.startswith("encv1:"), (ce_type, path)
        assert decode(enc.value, enc.headers).event == event


def test_the_customer_is_not_in_the_bytes_but_the_routing_fields_are() -> None:
    install_data_keys(new_data_key())
    opp = example(OPP)
    assert isinstance(opp, Opportunity)
    value = encode(opp, source="urn:test").value
    for text in (opp.customer.company, opp.customer.domain, opp.customer.contacts[0].email):
        assert text.encode() not in value
    assert opp.opportunity_id.encode() in value and opp.region.encode() in value
    assert validate_stored(Opportunity, value) == opp  # a table row keeps the sealed bytes


def test_without_keys_nothing_is_sealed_and_a_sealed_field_cannot_be_read() -> None:
    opp = example(OPP)
    clear = encode(opp, source="urn:test")
    assert b"encv1:" not in clear.value and decode(clear.value, clear.headers).event == opp
    install_data_keys(new_data_key())
    sealed = encode(opp, source="urn:test")
    with fresh_keyring(), pytest.raises(InvalidEvent) as info:  # another bus: other keys
        install_data_keys(new_data_key())
        decode(sealed.value, sealed.headers)
    assert info.value.reason == "encrypted" and "not held" in info.value.detail


def test_a_sealed_field_moved_or_altered_does_not_open() -> None:
    install_data_keys(new_data_key())
    enc = encode(example(OPP), source="urn:test")
    data = orjson.loads(enc.value)
    customer = data["customer"]
    customer["company"], customer["domain"] = customer["domain"], customer["company"]
    with pytest.raises(InvalidEvent, match="does not decrypt"):
        decode(orjson.dumps(data), enc.headers)
    data = orjson.loads(enc.value)
    data["customer"]["company"] = data["customer"]["company"][:-4] + "AAA="
    with pytest.raises(InvalidEvent, match="encrypted"):
        decode(orjson.dumps(data), enc.headers)


def test_rotation_new_key_first_old_records_still_open_and_the_index_stays() -> None:
    old, new = new_data_key(), new_data_key()
    install_data_keys(old)
    before = encode(example(OPP), source="urn:test")
    index = blind_index("acme.com")
    with fresh_keyring():
        install_data_keys(f"{new},{old}")
        after = encode(example(OPP), source="urn:test")
        assert new.split(":")[0].encode() in after.value
        assert old.split(":")[0].encode() in before.value
        assert (
            decode(before.value, before.headers).event == decode(after.value, after.headers).event
        )
        assert blind_index("acme.com") == index  # conflict detection sees the same customer


def test_the_blind_index_is_keyed() -> None:
    assert blind_index("acme.com") == "acme.com"  # no keys: in clear (pure unit tests)
    install_data_keys(new_data_key())
    first = blind_index("acme.com")
    assert "acme" not in first and first == blind_index("acme.com") != blind_index("acme.org")
    with fresh_keyring():
        install_data_keys(new_data_key())
        assert blind_index("acme.com") != first


@pytest.mark.parametrize("bad", ["", "k1", "k1:short", "k-1:" + "A" * 44, "k1:!!!"])
def test_bad_data_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_data_keys(bad)


@given(company=st.text(min_size=1, max_size=200).filter(str.strip))
def test_any_company_round_trips_sealed(company: str) -> None:
    if not keys_installed():
        install_data_keys(new_data_key())
    opp = example(OPP)
    assert isinstance(opp, Opportunity)
    data = opp.model_dump()
    data["customer"]["company"] = company
    try:
        event = Opportunity.model_validate(data)
    except ValidationError:
        return  # not a valid company: nothing to seal
    enc = encode(event, source="urn:test")
    assert decode(enc.value, enc.headers).event == event


def test_settings_refuse_a_malformed_data_key_ring() -> None:
    from pydantic import ValidationError as SettingsError

    from streams.settings import load_settings

    with pytest.raises(SettingsError, match="data keys"):
        load_settings({}, env={"OPPBUS_DATA_KEYS": "not-a-key"})
