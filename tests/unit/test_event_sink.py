"""The domain sink of a followed topic: only records the bus wrote are applied."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from schemas.codec import Envelope, encode
from schemas.samples import example
from streams.event_sink import EventSink, Followed
from streams.record_auth import MAC_HEADER, RecordAuth
from streams.settings import Settings, load_settings

LOG = logging.getLogger("test.event_sink")


def _settings(key: str = "k" * 32) -> Settings:
    return load_settings({"topic_prefix": "t", "service_key": SecretStr(key)}, env={})


def _sink(settings: Settings, **kw: object) -> tuple[EventSink, list[tuple[Envelope, Followed]]]:
    applied: list[tuple[Envelope, Followed]] = []
    sink = EventSink(
        settings, ["partners", "deadletter"], lambda e, f: applied.append((e, f)), log=LOG, **kw
    )  # type: ignore[arg-type]
    return sink, applied


PROFILE = example("io.oppbus.partner.updated.v1")


def test_a_record_the_bus_wrote_is_applied_with_its_origin() -> None:
    settings = _settings()
    sink, applied = _sink(settings)
    enc = RecordAuth.from_settings(settings).encode("t.partners", b"acme", PROFILE, source="test")
    sink(b"acme", enc.value, enc.headers, ("t.partners", 1, 7))
    assert [(e.event, f) for e, f in applied] == [(PROFILE, Followed("partners", 1, 7, "acme"))]
    assert (sink.applied, sink.skipped) == (1, 0)


def test_forged_records_are_refused_before_they_are_parsed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings()
    sink, applied = _sink(settings)
    plain = encode(PROFILE, source="attacker")  # well formed, no MAC
    forger = RecordAuth([b"f" * 32])  # another key
    other_key = forger.encode("t.partners", b"acme", PROFILE, source="attacker")
    good = RecordAuth.from_settings(settings).encode("t.partners", b"acme", PROFILE, source="t")
    other_topic = RecordAuth.from_settings(settings).encode("t.credentials", b"acme", PROFILE,
                                                            source="t")  # fmt: skip
    with caplog.at_level(logging.WARNING, LOG.name):
        sink(b"acme", plain.value, plain.headers, ("t.partners", 0, 1))
        sink(b"acme", other_key.value, other_key.headers, ("t.partners", 0, 2))
        sink(b"rival", good.value, good.headers, ("t.partners", 0, 3))  # key altered
        sink(b"acme", other_topic.value, other_topic.headers, ("t.partners", 0, 4))
        sink(b"acme", b"not json", [(MAC_HEADER, b"x.y")], ("t.partners", 0, 5))
    assert applied == []
    assert (sink.applied, sink.skipped, sink.unauthenticated) == (0, 5, 5)
    assert "topic=t.partners partition=0 offset=3" in caplog.text


def test_an_unauthenticated_topic_is_decoded_and_garbage_skipped() -> None:
    sink, applied = _sink(_settings())
    plain = encode(PROFILE, source="x")
    sink(None, plain.value, plain.headers, ("t.deadletter", 0, 0))  # deadletter: no MAC asked
    sink(None, b"{", [], ("t.deadletter", 0, 1))
    sink(None, None, [], ("t.deadletter", 0, 2))  # tombstone: ignored, not counted
    assert len(applied) == 1 and (sink.applied, sink.skipped, sink.unauthenticated) == (1, 1, 0)


def test_authenticate_false_applies_without_a_mac() -> None:
    sink, applied = _sink(_settings(), authenticate=False)
    plain = encode(PROFILE, source="x")
    sink(b"acme", plain.value, plain.headers, ("t.partners", 0, 0))
    assert len(applied) == 1
