"""The CloudEvents Kafka binary codec: headers, round trips, and InvalidEvent for every bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from schemas.codec import MAX_EVENT_BYTES, decode, encode, header
from schemas.errors import InvalidEvent
from schemas.events import (
    EVENT_TOPICS,
    EVENT_TYPES,
    DeadLetter,
    Opportunity,
    PartnerProfile,
    event_key,
    event_topic,
    type_of,
)
from schemas.operations import dead_letter
from schemas.samples import examples
from schemas.topics import TOPICS

OPP = "io.oppbus.opportunity.published.v1"


@pytest.fixture(scope="module")
def samples() -> dict[str, object]:
    return {t: ex.event for t, ex in examples().items()}


def test_every_event_type_has_an_example_and_a_known_topic(samples: dict[str, object]) -> None:
    assert set(samples) == set(EVENT_TYPES)
    names = {t.name for t in TOPICS}
    assert set(EVENT_TOPICS.values()) <= names
    for ce_type, model in EVENT_TYPES.items():
        assert type_of(model) == ce_type and ce_type.endswith(".v1")
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"


def test_headers_follow_the_kafka_binary_binding(samples: dict[str, object]) -> None:
    t = datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    enc = encode(samples[OPP], source="urn:test", id="e-1", time=t, dataschema="urn:s")  # type: ignore[arg-type]
    h = dict(enc.headers)
    assert h == {
        "ce_specversion": b"1.0",
        "ce_id": b"e-1",
        "ce_source": b"urn:test",
        "ce_type": OPP.encode(),
        "ce_time": b"2026-11-24T08:00:00Z",
        "content-type": b"application/json",
        "ce_dataschema": b"urn:s",
    }
    body = orjson.loads(enc.value)
    assert body["deal_size"]["amount"] == "250000.00" and "type" not in body
    assert header(enc.headers, "ce_type") == OPP


def test_every_example_round_trips(samples: dict[str, object]) -> None:
    for ce_type, event in samples.items():
        enc = encode(event, source="urn:test")  # type: ignore[arg-type]
        env = decode(enc.value, enc.headers)
        assert env.type == ce_type and env.event == event and env.source == "urn:test"
        assert env.time.tzinfo is not None and env.id


def test_decode_accepts_mapping_headers_and_ignores_others(samples: dict[str, object]) -> None:
    enc = encode(samples[OPP], source="urn:test", id="x")  # type: ignore[arg-type]
    env = decode(enc.value, {**dict(enc.headers), "traceparent": b"00-abc"})
    assert env.id == "x"


def test_keys_follow_the_topic_catalogue(samples: dict[str, object]) -> None:
    profile = samples["io.oppbus.partner.updated.v1"]
    assert isinstance(profile, PartnerProfile)
    assert event_key(profile) == profile.partner_id.encode()
    opp = samples[OPP]
    assert isinstance(opp, Opportunity)
    assert event_key(opp) == f"{opp.originator}/{opp.opportunity_id}".encode()
    assert event_topic(opp) == "opportunities"
    offer = samples["io.oppbus.referral.offered.v1"]
    assert event_key(offer) == event_key(opp)  # type: ignore[arg-type]
    dl = samples["io.oppbus.deadletter.recorded.v1"]
    assert isinstance(dl, DeadLetter) and event_key(dl) == dl.key.encode()  # type: ignore[union-attr]


def _good(samples: dict[str, object]) -> tuple[bytes, list[tuple[str, bytes]]]:
    enc = encode(samples[OPP], source="urn:test")  # type: ignore[arg-type]
    return enc.value, enc.headers


def _without(headers: list[tuple[str, bytes]], name: str) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in headers if k != name]


def _replace(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(name, value), *_without(headers, name)]


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda v, h: (b"{not json", h), "not_json"),
        (lambda v, h: (b"[1, 2]", h), "not_an_object"),
        (lambda v, h: (b"", h), "not_json"),
        (lambda v, h: (b" " * (MAX_EVENT_BYTES + 1), h), "too_large"),
        (lambda v, h: (v, _without(h, "ce_type")), "missing_header"),
        (lambda v, h: (v, _without(h, "ce_id")), "missing_header"),
        (lambda v, h: (v, _without(h, "ce_specversion")), "missing_header"),
        (lambda v, h: (v, _replace(h, "ce_type", b"io.oppbus.nope.v1")), "unknown_type"),
        (lambda v, h: (v, _replace(h, "ce_type", b"\xff\xfe")), "bad_header"),
        (lambda v, h: (v, _replace(h, "ce_specversion", b"0.3")), "unsupported_specversion"),
        (
            lambda v, h: (v, _replace(h, "content-type", b"application/avro")),
            "unsupported_content_type",
        ),
        (lambda v, h: (v, _replace(h, "ce_time", b"yesterday")), "bad_header"),
        (lambda v, h: (v, _replace(h, "ce_time", b"2026-11-24T10:00:00")), "bad_header"),
        (lambda v, h: (v, _replace(h, "ce_id", None)), "bad_header"),
        (lambda v, h: (v, None), "missing_header"),
        (lambda v, h: (v, [("ce_id",)]), "bad_header"),
        (lambda v, h: (None, h), "not_json"),
    ],
)
def test_bad_inputs_raise_invalid_event_only(samples: dict[str, object], mutate, reason) -> None:  # type: ignore[no-untyped-def]
    value, headers = mutate(*_good(samples))
    with pytest.raises(InvalidEvent) as info:
        decode(value, headers)
    assert info.value.reason == reason


def test_schema_violations_name_the_fields(samples: dict[str, object]) -> None:
    value, headers = _good(samples)
    body = orjson.loads(value)
    body["deal_size"]["amount"] = 1.5
    body["needs"] = ["storage", "warp-drive"]
    body["published_at"] = "2026-11-24T10:00:00"  # naive: rejected
    body["surprise"] = 1
    with pytest.raises(InvalidEvent) as info:
        decode(orjson.dumps(body), headers)
    assert info.value.reason == "schema"
    fields = {e.field for e in info.value.errors}
    assert fields == {"deal_size.amount", "needs.1", "published_at", "surprise"}


def test_encode_rejects_naive_time_and_empty_source(samples: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        encode(samples[OPP], source="urn:x", time=datetime(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        encode(samples[OPP], source="")  # type: ignore[arg-type]


def test_dead_letter_record_keeps_the_original_bytes() -> None:
    raw = b"\xff\x00binary"
    err = InvalidEvent("not_json", "nope")
    headers = [("ce_id", b"abc"), ("ce_type", b"io.oppbus.opportunity.published.v1")]
    dl = dead_letter(
        err, source_topic="oppbus.opportunities", partition=1, offset=7, key=b"a/b",
        value=raw, headers=headers, at=datetime.now(UTC), consumer="router",
    )  # fmt: skip
    assert dl.value_encoding == "base64" and dl.original_value() == raw
    assert dl.original_key() == b"a/b" and dl.event_id == "abc" and dl.reason == "not_json"
    enc = encode(dl, source="urn:test")
    assert decode(enc.value, enc.headers).event == dl
    text = dead_letter(
        err, source_topic="t", partition=0, offset=0, key=None, value=b"  {x}\n",
        at=datetime.now(UTC),
    )  # fmt: skip
    assert text.value == "  {x}\n" and text.original_value() == b"  {x}\n" and text.key is None


COERCIBLE = [True, 1, 1.0, "5", "true", 1_700_000_000, None, [], {}]


def test_no_silent_coercion_of_any_top_level_field(samples: dict[str, object]) -> None:
    """Every field either rejects a value of the wrong JSON type or keeps it exactly as sent."""
    for ce_type, event in samples.items():
        enc = encode(event, source="urn:test")  # type: ignore[arg-type]
        body = orjson.loads(enc.value)
        for name in body:
            for wrong in COERCIBLE:
                mutated = {**body, name: wrong}
                try:
                    env = decode(orjson.dumps(mutated), enc.headers)
                except InvalidEvent as exc:
                    assert exc.reason == "schema"
                    assert any(e.field.split(".")[0] == name for e in exc.errors), (ce_type, name)
                else:
                    again = orjson.loads(encode(env.event, source="x").value)[name]
                    same_type = type(again) is type(wrong) or (type(wrong), type(again)) == (
                        int,
                        float,
                    )
                    assert again == wrong and same_type, (ce_type, name, wrong)
