"""The figures of a replay: how offers spread over partners, and what they are expected to bring.

Pure functions over counts. ``gini`` is the Gini coefficient of the offers per partner over every
partner that could have been offered (the partners never offered count as zeros): 0 when every
partner got as many offers, towards 1 when one partner got them all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Outcomes", "expected", "gini", "spread"]


def gini(values: Iterable[int]) -> float:
    """The Gini coefficient of non-negative counts (0.0 for none or all zero)."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum(i * v for i, v in enumerate(ordered, start=1))
    return round((2 * weighted) / (n * total) - (n + 1) / n, 4)


def spread(offers: Mapping[str, int], partners: Iterable[str]) -> dict[str, float | int]:
    """How ``offers`` (per partner) spread over ``partners`` (everyone who could be offered)."""
    everyone = set(partners) | set(offers)
    total = sum(offers.values())
    busiest = max(offers.values(), default=0)
    return {
        "offers": total,
        "partners": len(everyone),
        "partners_offered": sum(1 for n in offers.values() if n),
        "never_offered": sum(1 for p in everyone if not offers.get(p)),
        "busiest_share": round(busiest / total, 4) if total else 0.0,
        "gini": gini(offers.get(p, 0) for p in everyone),
    }


@dataclass(slots=True)
class Outcomes:
    """Observed per-partner outcomes: offers answered or expired, and closed referrals."""

    accepted: Counter[str]
    decided: Counter[str]  # accepted + declined + expired
    won: Counter[str]
    closed: Counter[str]  # won + lost

    @classmethod
    def empty(cls) -> Outcomes:
        return cls(Counter(), Counter(), Counter(), Counter())

    def network_rates(self) -> tuple[float, float]:
        """(acceptance, win) over every partner: the rates of partners never observed."""
        decided, closed = sum(self.decided.values()), sum(self.closed.values())
        acceptance = sum(self.accepted.values()) / decided if decided else 0.0
        win = sum(self.won.values()) / closed if closed else 0.0
        return acceptance, win

    def rates(self, partner_id: str, network: tuple[float, float]) -> tuple[float, float]:
        decided, closed = self.decided.get(partner_id, 0), self.closed.get(partner_id, 0)
        acceptance = self.accepted[partner_id] / decided if decided else network[0]
        win = self.won[partner_id] / closed if closed else network[1]
        return acceptance, win


def expected(offers: Mapping[str, int], outcomes: Outcomes) -> dict[str, float]:
    """Acceptances and wins to expect from ``offers`` at each partner's observed rates."""
    network = outcomes.network_rates()
    accepted = won = 0.0
    for partner_id, n in offers.items():
        acceptance, win = outcomes.rates(partner_id, network)
        accepted += n * acceptance
        won += n * acceptance * win
    return {"accepted": round(accepted, 2), "won": round(won, 2)}
