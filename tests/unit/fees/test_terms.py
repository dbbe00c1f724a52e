"""Terms input: every bad value is refused naming its field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.terms import Terms


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"referral_fee": {"percent": "0"}}, "referral_fee.percent"),
        ({"referral_fee": {"percent": "-5"}}, "referral_fee.percent"),
        ({"referral_fee": {"percent": "100.5"}}, "referral_fee.percent"),
        ({"referral_fee": {"percent": 10}}, "referral_fee.percent"),  # a number, not text
        ({"referral_fee": {"percent": "1e1"}}, "referral_fee.percent"),
        ({"referral_fee": {"amount": "5", "currency": "ZZZ"}}, "referral_fee.currency"),
        ({"referral_fee": {"amount": "0", "currency": "EUR"}}, "referral_fee.amount"),
        ({"referral_fee": {"amount": "5.5", "currency": "JPY"}}, "referral_fee.amount"),
        ({"referral_fee": {"amount": "5", "currency": "XAU"}}, "referral_fee.amount"),
        (
            {
                "referral_fee": {"amount": "5", "currency": "EUR"},
                "cap": {"amount": "1", "currency": "USD"},
            },
            "cap",
        ),
        ({"referral_fee": {"percent": "5"}, "approval_days": -1}, "approval_days"),
        ({"referral_fee": {"percent": "5"}, "payment_days": 400}, "payment_days"),
        ({"referral_fee": {"percent": "5"}, "surprise": 1}, "surprise"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Terms.model_validate(body)
    fields = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert field in fields, fields


def test_good_terms_round_trip_as_decimal_strings() -> None:
    terms = Terms.model_validate(
        {"referral_fee": {"percent": "7.5"}, "cap": {"amount": "5000.000", "currency": "BHD"}}
    )
    dumped = terms.model_dump(mode="json")
    assert dumped["referral_fee"] == {"percent": "7.5"}
    assert dumped["cap"] == {"currency": "BHD", "amount": "5000.000"}
    assert Terms.model_validate(dumped) == terms
