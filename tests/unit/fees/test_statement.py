"""Statements per counterparty and currency, and network netting that sums to zero."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from streams.fees.ledger import FeeState
from streams.fees.statement import positions, statement

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PARTNERS = ["a", "b", "c", "d"]


def fee(
    i: int, payer: str, payee: str, amount: str, currency: str = "EUR", **kw: object
) -> FeeState:
    fields: dict[str, object] = {
        "fee_id": f"fee_{i}",
        "referral_id": f"ref_{i}",
        "payer": payer,
        "payee": payee,
        "amount": Decimal(amount),
        "currency": currency,
        "terms_version": 1,
        "status": "pending",
        "accrued_at": T0 + timedelta(days=i),
        "approve_at": T0 + timedelta(days=i + 30),
        "basis": "",
    }
    fields.update(kw)
    return FeeState(**fields)  # type: ignore[arg-type]


def test_a_statement_sets_receivable_against_payable_per_counterparty_and_currency() -> None:
    fees = [
        fee(1, "b", "a", "100.00"),  # b owes a
        fee(2, "a", "b", "30.00"),  # a owes b
        fee(3, "b", "a", "7", "JPY"),
        fee(4, "c", "a", "50.00", status="reversed"),  # counts for nothing
        fee(5, "c", "a", "20.00", status="settled"),
    ]
    rows = {(r.partner_id, r.currency): r for r in statement("a", fees)}
    assert rows[("b", "EUR")].receivable == Decimal("100.00")
    assert rows[("b", "EUR")].payable == Decimal("30.00")
    assert rows[("b", "EUR")].net == Decimal("70.00")
    assert rows[("b", "JPY")].net == Decimal("7")
    assert rows[("c", "EUR")].receivable == Decimal("20.00")


def test_the_period_is_by_accrual_date_half_open() -> None:
    fees = [fee(1, "b", "a", "1.00"), fee(2, "b", "a", "2.00"), fee(3, "b", "a", "4.00")]
    (row,) = statement("a", fees, T0 + timedelta(days=2), T0 + timedelta(days=3))
    assert row.receivable == Decimal("2.00")


fee_lists = st.lists(
    st.tuples(
        st.sampled_from(PARTNERS),
        st.sampled_from(PARTNERS),
        st.decimals(Decimal("0.01"), Decimal("99999"), places=2),
        st.sampled_from(["EUR", "USD"]),
        st.sampled_from(["pending", "approved", "settled", "reversed"]),
    ).filter(lambda t: t[0] != t[1]),
    max_size=30,
).map(
    lambda rows: [
        fee(i, payer, payee, str(amount), currency, status=status)
        for i, (payer, payee, amount, currency, status) in enumerate(rows)
    ]
)


@given(fee_lists)
def test_netting_adds_up(fees: list[FeeState]) -> None:
    net = positions(fees)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for by_currency in net.values():
        for currency, amount in by_currency.items():
            totals[currency] += amount
    assert all(total == 0 for total in totals.values())  # every fee is one's gain, another's debt
    for partner in PARTNERS:
        rows = statement(partner, fees)
        for currency in ("EUR", "USD"):
            from_rows = sum((r.net for r in rows if r.currency == currency), Decimal(0))
            assert from_rows == net.get(partner, {}).get(currency, Decimal(0))
        for row in rows:  # what a owes b is what b is owed by a
            mirror = {(r.partner_id, r.currency): r for r in statement(row.partner_id, fees)}
            assert mirror[(partner, row.currency)].receivable == row.payable
