"""Ledger records -> scorecard facts, and the partner-keyed copies between the two stages."""

from __future__ import annotations

import pytest

from schemas.codec import encode
from schemas.errors import InvalidEvent
from schemas.samples import example
from streams.scorecards.facts import decode_fact, fact_from_record, routed_copies

PREFIX = "io.oppbus."


def record(ce_type: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    encoded = encode(example(PREFIX + ce_type), source="urn:test")
    return encoded.value, encoded.headers


@pytest.mark.parametrize(
    "ce_type",
    [
        f"referral.{s}.v1"
        for s in ("offered", "accepted", "declined", "expired", "lost", "withdrawn")
    ],
)
def test_every_ledger_status_becomes_a_fact(ce_type: str) -> None:
    fact = fact_from_record(*record(ce_type))
    assert fact is not None
    assert fact.status == ce_type.split(".")[1]
    assert (fact.giver, fact.receiver) == ("northwind-networks", "contoso-storage")
    assert fact.amount is None and fact.currency is None and fact.at > 1.7e9


def test_won_carries_the_amount_as_a_decimal_string() -> None:
    fact = fact_from_record(*record("referral.won.v1"))
    assert fact is not None
    assert (fact.status, fact.amount, fact.currency) == ("won", "231500.00", "USD")


def test_other_types_are_skipped_without_parsing_the_body() -> None:
    _, headers = record("lead.revealed.v1")
    assert fact_from_record(b"not json at all", headers) is None
    assert fact_from_record(b"{}", []) is None


def test_an_invalid_ledger_record_is_reported() -> None:
    _, headers = record("referral.accepted.v1")
    with pytest.raises(InvalidEvent):
        fact_from_record(b'{"referral_id": 3}', headers)


def test_copies_go_to_both_partners_and_round_trip() -> None:
    fact = fact_from_record(*record("referral.won.v1"))
    assert fact is not None
    copies = routed_copies(fact)
    assert [key for key, _ in copies] == [b"contoso-storage", b"northwind-networks"]
    assert [decode_fact(value) for _, value in copies] == [("receiver", fact), ("giver", fact)]


@pytest.mark.parametrize(
    "value",
    [
        b"nope",
        b"[]",
        b'["x", "r", "g", "p", "offered", 1.0, null, null]',
        b'[["r"], "r", "g", "p", ["offered"], 1.0, null, null]',
        b'["r", "r1", "g", "p", "offered", true, null, null]',
        b'["r", "r1", "g", "p", "bogus", 1.0, null, null]',
        b'["r", "r1", "g", "p", "offered", "soon", null, null]',
        b'["r", "", "g", "p", "offered", 1.0, null, null]',
        b'["r", "r1", "g", "p", "offered", 1.0, "5.00", "USD"]',
        b'["r", "r1", "g", "p", "won", 1.0, "5.00", null]',
    ],
)
def test_malformed_copies_are_rejected(value: bytes) -> None:
    with pytest.raises(ValueError):
        decode_fact(value)
