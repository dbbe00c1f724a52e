"""Terms of engagement between two partners: the referral fee and its windows (DESIGN.md
"Partnerships, terms and referral fees").

The partner who *receives* a referral pays the partner who *shared* it, when the referral is won:
a percentage of the won amount or a flat amount, optionally capped. ``approval_days``: days after
the win during which the outcome may still be corrected (the fee stays ``pending``);
``payment_days``: days after approval by which the payer is expected to pay.

Amounts here may carry as many decimals as their currency has (ISO 4217 minor unit: JPY 0,
EUR 2, BHD 3); a currency without a minor unit (gold, SDR, ...) cannot carry a fee.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
)

from schemas.common import Contract, Currency
from schemas.currency_units import minor_units

__all__ = ["FeeAmount", "FeeMoney", "FlatFee", "PercentFee", "ReferralFee", "Terms"]

_AMOUNT_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,4})?$"
_PERCENT_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,4})?$"


def _text(pattern: str, example: str) -> Any:
    regex = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str) and regex.match(value.strip()):
            return value.strip()
        raise ValueError(f'must be a decimal string like "{example}" (no exponent)')

    return check


def _decimal_str(value: Decimal) -> str:
    return format(value, "f")


FeeAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=19, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(_text(_AMOUNT_PATTERN, "500.00")),
    PlainSerializer(_decimal_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _AMOUNT_PATTERN, "examples": ["500.00"]}),
]

Percent = Annotated[
    Decimal,
    Field(gt=0, le=100, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(_text(_PERCENT_PATTERN, "10")),
    PlainSerializer(_decimal_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _PERCENT_PATTERN, "examples": ["10", "7.5"]}),
]


def _fits_currency(amount: Decimal, currency: str) -> None:
    digits = minor_units(currency)
    if digits is None:
        raise ValueError(f"{currency} has no minor unit and cannot carry a fee")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        raise ValueError(f"{currency} amounts have at most {digits} decimals")


class FeeMoney(Contract):
    """A positive amount with no more decimals than its currency has."""

    currency: Currency  # first: the amount's check reads it
    amount: FeeAmount

    @field_validator("amount")
    @classmethod
    def _digits(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        if currency is not None:
            _fits_currency(amount, currency)
        return amount


class PercentFee(Contract):
    """A share of the won amount, in the won amount's currency (rounded half-even)."""

    percent: Percent


class FlatFee(FeeMoney):
    """A fixed amount per won referral, whatever the deal size."""


def _fee_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "percent" if "percent" in value else "flat"
    return "percent" if isinstance(value, PercentFee) else "flat"


ReferralFee = Annotated[
    Annotated[PercentFee, Tag("percent")] | Annotated[FlatFee, Tag("flat")],
    Discriminator(_fee_kind),
]


class Terms(Contract):
    """One version of the terms between two partners (or the network default)."""

    referral_fee: ReferralFee
    cap: FeeMoney | None = Field(
        default=None,
        description="Most a single referral's fee can be; applies to fees in its currency.",
    )
    approval_days: int = Field(default=30, ge=0, le=365, strict=True)
    payment_days: int = Field(default=30, ge=0, le=365, strict=True)
    version: int = Field(default=1, ge=1, strict=True)

    @field_validator("referral_fee", mode="wrap")
    @classmethod
    def _one_form(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Validate the chosen form directly, so errors name ``referral_fee.percent`` (not the
        union's tag, ``referral_fee.percent.percent``)."""
        if isinstance(value, dict):
            return (PercentFee if _fee_kind(value) == "percent" else FlatFee).model_validate(value)
        return handler(value)

    @field_validator("cap")
    @classmethod
    def _cap_currency(cls, cap: FeeMoney | None, info: ValidationInfo) -> FeeMoney | None:
        fee = info.data.get("referral_fee")
        if cap is not None and isinstance(fee, FlatFee) and cap.currency != fee.currency:
            raise ValueError(f"a flat fee in {fee.currency} cannot be capped in {cap.currency}")
        return cap
