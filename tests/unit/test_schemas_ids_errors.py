"""ids.py and errors.py: stable keys and referral ids, field-level error structure."""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import ValidationError

from schemas.common import Money
from schemas.errors import ROOT, FieldError, InvalidEvent, field_errors
from schemas.ids import (
    REFERRAL_ID_PATTERN,
    event_id,
    opportunity_key,
    referral_id,
    split_opportunity_key,
)
from schemas.opportunity import OpportunityInput


def test_opportunity_key_joins_and_splits() -> None:
    assert opportunity_key("northwind", "opp-1") == "northwind/opp-1"
    assert split_opportunity_key("northwind/opp-1") == ("northwind", "opp-1")


@pytest.mark.parametrize("originator,opp", [("a/b", "x"), ("a", "x/y"), ("", "x"), ("a", "")])
def test_opportunity_key_rejects_slash_and_empty(originator: str, opp: str) -> None:
    with pytest.raises(ValueError):
        opportunity_key(originator, opp)


@pytest.mark.parametrize("key", ["nokey", "/x", "a/", "a/b/c"])
def test_split_rejects_malformed_keys(key: str) -> None:
    with pytest.raises(ValueError):
        split_opportunity_key(key)


def test_referral_id_is_stable_short_and_distinct() -> None:
    rid = referral_id("northwind", "opp-1", "contoso")
    assert rid == referral_id("northwind", "opp-1", "contoso")
    assert re.match(REFERRAL_ID_PATTERN, rid) and len(rid) == 24
    others = {
        referral_id("northwind", "opp-1", "fabrikam"),
        referral_id("northwind", "opp-2", "contoso"),
        referral_id("contoso", "opp-1", "northwind"),
    }
    assert rid not in others and len(others) == 3
    # pinned: every process, every version computes the same id (sha256 of the parts)
    assert (
        rid == "ref_" + __import__("hashlib").sha256(b"northwind/opp-1\x1fcontoso").hexdigest()[:20]
    )


def test_referral_id_rejects_slash_in_partner() -> None:
    with pytest.raises(ValueError):
        referral_id("northwind", "opp-1", "a/b")


def test_event_id_is_deterministic() -> None:
    assert event_id("ref_1", "expired") == event_id("ref_1", "expired")
    assert event_id("ref_1", "expired") != event_id("ref_1", "accepted")
    with pytest.raises(ValueError):
        event_id()


def _body(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "needs": ["storage"],
        "region": "US-CA",
        "industry": "retail",
        "deal_size": {"amount": "1000.00", "currency": "USD"},
        "expected_close": date(2027, 1, 1).isoformat(),
        "customer": {"company": "Acme", "domain": "acme.com"},
    }
    body.update(over)
    return body


def test_field_errors_use_dotted_paths() -> None:
    bad = _body(
        needs=["storage", "teleportation"],
        deal_size={"amount": 1.5, "currency": "usd"},
        customer={"company": "Acme", "domain": "acme.com", "contacts": [{"email": "x"}]},
    )
    with pytest.raises(ValidationError) as info:
        OpportunityInput.model_validate(bad)
    errors = field_errors(info.value)
    fields = {e.field for e in errors}
    assert {"needs.1", "deal_size.amount", "deal_size.currency"} <= fields
    assert "customer.contacts.0.name" in fields and "customer.contacts.0.email" in fields
    amount = next(e for e in errors if e.field == "deal_size.amount")
    assert "decimal string" in amount.message and not amount.message.startswith("Value error")
    assert all(e.type for e in errors)


def test_cross_field_rule_blames_one_field() -> None:
    with pytest.raises(ValidationError) as info:
        OpportunityInput.model_validate(_body(retains=["storage"]))
    (error,) = field_errors(info.value)
    assert (error.field, error.message) == ("retains", "overlaps needs: storage")
    body = _body(requires_certification=[{"vendor": "NetApp", "capability": "backup"}])
    with pytest.raises(ValidationError) as info:
        OpportunityInput.model_validate(body)
    assert [e.field for e in field_errors(info.value)] == ["requires_certification.0.capability"]


def test_nested_model_rule_is_prefixed_with_its_path() -> None:
    from schemas.referrals import ReportOutcome

    base = {
        "referral_id": "ref_" + "0" * 20,
        "opportunity_id": "o1",
        "originator": "ab",
        "partner_id": "cd",
        "requested_at": "2026-11-24T09:00:00Z",
    }
    with pytest.raises(ValidationError) as info:
        ReportOutcome.model_validate({**base, "status": "won"})
    assert [(e.field, e.message) for e in field_errors(info.value)] == [
        ("amount", "required when status is won")
    ]


def test_an_error_with_no_location_is_the_root() -> None:
    with pytest.raises(ValidationError) as info:
        OpportunityInput.model_validate([1, 2])
    assert [e.field for e in field_errors(info.value)] == [ROOT]


def test_field_error_is_frozen_and_positional() -> None:
    e = FieldError("needs.0", "unknown capability", "value_error")
    assert e.as_dict() == {
        "field": "needs.0",
        "message": "unknown capability",
        "type": "value_error",
    }
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass raises FrozenInstanceError
        e.field = "x"  # type: ignore[misc]


def test_invalid_event_carries_reason_and_errors() -> None:
    exc = InvalidEvent("schema", "1 invalid field", [FieldError("a", "b", "c")])
    assert exc.reason == "schema" and exc.errors[0].field == "a"
    assert exc.as_dict()["errors"] == [{"field": "a", "message": "b", "type": "c"}]
    assert "schema" in str(exc)


@pytest.mark.parametrize("amount", [1.5, 2, True, "1e3", "1.234", "-1", "", "NaN", None])
def test_money_rejects_floats_and_non_decimal_text(amount: object) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": amount, "currency": "USD"})


def test_money_serialises_as_decimal_string() -> None:
    m = Money.model_validate({"amount": "1250.5", "currency": "EUR"})
    assert m.model_dump(mode="json") == {"amount": "1250.5", "currency": "EUR"}
