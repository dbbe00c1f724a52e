"""Ledger records -> scorecard facts, and the partner-keyed copies between the two stages."""

from __future__ import annotations

import pytest

from schemas.codec import encode
from schemas.errors import InvalidEvent
from schemas.samples import example
from streams.scorecards.facts import (
    PACK_MAX,
    fact_from_record,
    fact_from_trusted,
    pack,
    routed_packs,
    unpack,
)
from streams.scorecards.fold import LedgerFact

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


def test_copies_go_to_both_partners_packed_in_order() -> None:
    won = fact_from_record(*record("referral.won.v1"))
    offered = fact_from_record(*record("referral.offered.v1"))
    assert won is not None and offered is not None
    other = LedgerFact("ref_00000000000000000001", "contoso-storage", "fabrikam", "offered", 1.0)
    packs = dict(routed_packs([offered, won, other]))
    assert set(packs) == {b"contoso-storage", b"northwind-networks", b"fabrikam"}
    assert unpack(packs[b"contoso-storage"]) == [
        ("receiver", offered), ("receiver", won), ("giver", other)
    ]  # fmt: skip
    assert unpack(packs[b"northwind-networks"]) == [("giver", offered), ("giver", won)]
    assert unpack(packs[b"fabrikam"]) == [("receiver", other)]


def test_big_packs_are_split() -> None:
    facts = [LedgerFact(f"r{i}", "g1", "p1", "offered", float(i)) for i in range(PACK_MAX + 5)]
    packs = routed_packs(facts)
    assert [(key, len(unpack(value))) for key, value in packs] == [
        (b"p1", PACK_MAX), (b"p1", 5), (b"g1", PACK_MAX), (b"g1", 5)
    ]  # fmt: skip
    with pytest.raises(ValueError):
        unpack(pack([("giver", facts[0])] * (PACK_MAX + 1)))


@pytest.mark.parametrize(
    "value",
    [
        b"nope",
        b"[]",
        b"{}",
        b'["rxxxxxxx"]',
        b'[["x", "r", "g", "p", "offered", 1.0, null, null]]',
        b'[[["r"], "r", "g", "p", ["offered"], 1.0, null, null]]',
        b'[["r", "r1", "g", "p", "offered", true, null, null]]',
        b'[["r", "r1", "g", "p", "bogus", 1.0, null, null]]',
        b'[["r", "r1", "g", "p", "offered", "soon", null, null]]',
        b'[["r", "", "g", "p", "offered", 1.0, null, null]]',
        b'[["r", "r1", "g", "p", "offered", 1.0, "5.00", "USD"]]',
        b'[["r", "r1", "g", "p", "won", 1.0, "5.00", null]]',
        b'[["r", "r1", "g", "p", "offered", 1.0, null, null], 3]',
    ],
)
def test_malformed_packs_are_rejected(value: bytes) -> None:
    with pytest.raises(ValueError):
        unpack(value)


@pytest.mark.parametrize(
    "ce_type",
    [
        f"referral.{s}.v1"
        for s in ("offered", "accepted", "declined", "expired", "won", "lost", "withdrawn")
    ]
    + ["lead.revealed.v1", "opportunity.unroutable.v1"],
)
def test_the_trusted_path_reads_the_fact_the_validating_path_reads(ce_type: str) -> None:
    assert fact_from_trusted(*record(ce_type)) == fact_from_record(*record(ce_type))


@pytest.mark.parametrize(
    "body",
    [
        b'{"referral_id": 3}',
        b"not json",
        b'{"referral_id":"r","originator":"a","partner_id":"b","accepted_at":"2026-12-01T10:00"}',
        b'{"referral_id":"","originator":"a","partner_id":"b","accepted_at":"2026-12-01T10:00Z"}',
    ],
)
def test_a_body_the_trusted_path_cannot_read_is_validated_and_reported(body: bytes) -> None:
    _, headers = record("referral.accepted.v1")
    with pytest.raises(InvalidEvent):
        fact_from_trusted(body, headers)
