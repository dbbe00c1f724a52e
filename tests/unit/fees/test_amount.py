"""Fee amounts: exact decimals, half-even to the ISO 4217 minor unit, the cap, flat fees."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.currency_units import NO_MINOR_UNIT, minor_units
from schemas.iso_codes import CURRENCY_CODES
from schemas.terms import Terms
from streams.fees.amount import FeeDue, NoFee, fee_due

D = Decimal


def terms(**fields: object) -> Terms:
    return Terms.model_validate(fields)


def test_minor_units_follow_iso_4217() -> None:
    assert (minor_units("JPY"), minor_units("EUR"), minor_units("BHD")) == (0, 2, 3)
    assert minor_units("CLF") == 4 and minor_units("XAU") is None
    assert NO_MINOR_UNIT <= set(CURRENCY_CODES)


@pytest.mark.parametrize(
    ("percent", "won", "currency", "fee"),
    [
        ("10", "120000.00", "USD", "12000.00"),
        ("2.5", "1001", "JPY", "25"),  # 25.025 -> 25 (0 digits)
        ("2.5", "1003", "JPY", "25"),  # 25.075 -> 25
        ("5", "50", "JPY", "2"),  # 2.5 -> 2: half to even
        ("5", "70", "JPY", "4"),  # 3.5 -> 4: half to even
        ("2.5", "10.10", "EUR", "0.25"),  # 0.2525 -> 0.25
        ("2.5", "10.30", "EUR", "0.26"),  # 0.2575 -> 0.26
        ("2.5", "1000.10", "BHD", "25.002"),  # 25.0025 -> 25.002 (3 digits)
        ("0.01", "99.99", "USD", "0.01"),  # 0.009999 -> 0.01
    ],
)
def test_percentage_fees_round_half_even_to_the_minor_unit(
    percent: str, won: str, currency: str, fee: str
) -> None:
    due = fee_due(terms(referral_fee={"percent": percent}), D(won), currency)
    assert isinstance(due, FeeDue)
    assert (due.amount, due.currency) == (D(fee), currency)
    assert str(due.amount) == fee  # exactly the minor unit's digits


def test_the_cap_applies_in_its_currency_and_says_so_otherwise() -> None:
    capped = terms(referral_fee={"percent": "10"}, cap={"amount": "500.00", "currency": "EUR"})
    due = fee_due(capped, D("120000"), "EUR")
    assert isinstance(due, FeeDue) and due.amount == D("500.00") and "capped" in due.basis
    other = fee_due(capped, D("120000"), "USD")
    assert isinstance(other, FeeDue) and other.amount == D("12000.00")
    assert "not applied" in other.basis


def test_flat_fees_are_their_own_amount_and_currency() -> None:
    flat = terms(referral_fee={"amount": "500.00", "currency": "EUR"})
    due = fee_due(flat, D("9.99"), "USD")
    assert isinstance(due, FeeDue) and (due.amount, due.currency) == (D("500.00"), "EUR")


def test_nothing_due_on_a_zero_win() -> None:
    assert isinstance(fee_due(terms(referral_fee={"percent": "10"}), D("0"), "USD"), NoFee)


@given(
    percent=st.decimals(D("0.0001"), D("100"), places=4),
    won=st.decimals(D("0"), D("999999999999.99"), places=2),
    currency=st.sampled_from(["JPY", "EUR", "USD", "BHD", "KWD", "CLF"]),
    cap=st.none() | st.decimals(D("1"), D("100000"), places=0),
)
def test_a_percentage_fee_is_the_exact_share_rounded_once_and_never_over_the_cap(
    percent: Decimal, won: Decimal, currency: str, cap: Decimal | None
) -> None:
    fields: dict[str, object] = {"referral_fee": {"percent": str(percent)}}
    if cap is not None:
        fields["cap"] = {"amount": str(cap), "currency": currency}
    due = fee_due(terms(**fields), won, currency)
    exact = won * percent / 100
    digits = minor_units(currency)
    assert digits is not None
    step = D(1).scaleb(-digits)
    if isinstance(due, NoFee):
        assert exact <= step / 2  # rounds to nothing
        return
    assert due.currency == currency
    assert -due.amount.as_tuple().exponent == digits  # type: ignore[operator]
    if cap is not None and exact >= cap:
        assert due.amount == cap  # the same value, written with the minor unit
    else:
        assert abs(due.amount - exact) <= step / 2
        assert cap is None or due.amount <= cap
