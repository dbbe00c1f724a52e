"""What a won referral owes under its terms: exact decimals, ISO 4217 rounding, the cap.

A percentage fee is ``won amount x percent / 100`` in the won amount's currency, rounded half-even
(banker's rounding) to that currency's minor unit (JPY 0 digits, EUR 2, BHD 3), then capped when
the cap is in the same currency (a cap in another currency cannot be compared without an exchange
rate, so it does not apply, and the explanation says so). A flat fee is its amount in its own
currency, whatever the deal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from schemas.currency_units import minor_units
from schemas.terms import FlatFee, Terms

__all__ = ["FeeDue", "NoFee", "fee_due", "quantize"]


@dataclass(frozen=True)
class FeeDue:
    amount: Decimal
    currency: str
    basis: str  # how the amount was reached, for statements and disputes


@dataclass(frozen=True)
class NoFee:
    reason: str


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-even to ``currency``'s minor unit."""
    digits = minor_units(currency)
    if digits is None:
        raise ValueError(f"{currency} has no minor unit")
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def fee_due(terms: Terms, won_amount: Decimal, won_currency: str) -> FeeDue | NoFee:
    """The fee a referral won for ``won_amount`` ``won_currency`` owes under ``terms``."""
    fee = terms.referral_fee
    if isinstance(fee, FlatFee):
        amount, currency = quantize(fee.amount, fee.currency), fee.currency
        basis = f"flat {fee.amount} {fee.currency}"
    else:
        if minor_units(won_currency) is None:
            return NoFee(f"{won_currency} has no minor unit: no percentage fee")
        exact = won_amount * fee.percent / 100
        amount, currency = quantize(exact, won_currency), won_currency
        basis = f"{fee.percent}% of {won_amount} {won_currency}"
        if amount != exact:
            basis += f" = {exact} rounded half-even to {amount}"
    cap = terms.cap
    if cap is not None:
        if cap.currency != currency:
            basis += f"; cap {cap.amount} {cap.currency} not applied to a {currency} fee"
        elif amount > cap.amount:
            amount = quantize(cap.amount, currency)
            basis += f"; capped at {cap.amount} {cap.currency}"
    if amount <= 0:
        return NoFee(f"nothing due ({basis})")
    return FeeDue(amount, currency, basis)
