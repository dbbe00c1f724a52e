"""Statements: what a partner is owed and owes, per counterparty and currency, and netting.

A statement counts the fee entries accrued in ``[start, end)`` that stand (``pending``,
``approved`` or ``settled``; a ``reversed`` entry counts for nothing: its correction, if any, is
an entry of its own). ``receivable``: fees the partner is the payee of; ``payable``: those it is
the payer of; ``net`` = receivable - payable. ``positions`` nets every partner against the whole
network in one figure per currency: what it is owed (positive) or owes (negative) once
everything between every pair is set off; the positions of a currency sum to zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from streams.fees.ledger import FeeState

__all__ = ["StatementRow", "positions", "standing", "statement"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class StatementRow:
    partner_id: str  # the counterparty
    currency: str
    receivable: Decimal
    payable: Decimal

    @property
    def net(self) -> Decimal:
        return self.receivable - self.payable


def standing(
    fees: Iterable[FeeState], start: datetime | None = None, end: datetime | None = None
) -> list[FeeState]:
    """The entries that count: not reversed, accrued within ``[start, end)``."""
    return [
        f
        for f in fees
        if f.status != "reversed"
        and (start is None or f.accrued_at >= start)
        and (end is None or f.accrued_at < end)
    ]


def statement(
    partner: str,
    fees: Iterable[FeeState],
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[StatementRow]:
    """``partner``'s rows, one per counterparty and currency, sorted by counterparty."""
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
    for fee in standing(fees, start, end):
        if fee.payee == partner:
            sums[(fee.payer, fee.currency)][0] += fee.amount
        if fee.payer == partner:
            sums[(fee.payee, fee.currency)][1] += fee.amount
    return [
        StatementRow(other, currency, receivable, payable)
        for (other, currency), (receivable, payable) in sorted(sums.items())
    ]


def positions(
    fees: Iterable[FeeState], start: datetime | None = None, end: datetime | None = None
) -> dict[str, dict[str, Decimal]]:
    """Each partner's net position against the network, per currency (multi-party netting)."""
    net: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: _ZERO))
    for fee in standing(fees, start, end):
        net[fee.payee][fee.currency] += fee.amount
        net[fee.payer][fee.currency] -= fee.amount
    return {partner: dict(by_currency) for partner, by_currency in sorted(net.items())}
