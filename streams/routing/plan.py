"""The offer plan: who holds an opportunity at once, then who is offered it next (the waterfall).

``max_partners`` partners (the opportunity's setting) may hold it at the same time. A partner holds
it while its offer is ``offered`` (awaiting an answer) or once it ``accepted`` (and after its
outcome, ``won`` or ``lost``). A ``declined`` or ``expired`` offer frees its place: the next
partner down the ranked order is offered it. ``withdrawn`` (by the originator) stops everything.
Nobody is ever offered the same opportunity twice.

The plan state is just ``{partner_id: status}`` of the offers made so far, which the offer
lifecycle context already keeps; :func:`next_offers` is a pure function of the plan and that state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from streams.routing.route import RoutingDecision

__all__ = [
    "HOLDING",
    "OfferPlan",
    "OfferStatus",
    "exhausted",
    "next_offers",
    "plan_offers",
    "replan",
]

OfferStatus = Literal["offered", "accepted", "declined", "expired", "won", "lost", "withdrawn"]

HOLDING: Final[frozenset[str]] = frozenset({"offered", "accepted", "won", "lost"})
FREED: Final[frozenset[str]] = frozenset({"declined", "expired"})


@dataclass(frozen=True, slots=True)
class OfferPlan:
    """The ranked waterfall of one opportunity and how many partners may hold it at once."""

    opportunity_key: str
    order: tuple[str, ...]
    max_partners: int = 1

    def __post_init__(self) -> None:
        if self.max_partners < 1:
            raise ValueError("max_partners must be >= 1")
        if len(set(self.order)) != len(self.order):
            raise ValueError("a partner appears twice in the plan order")


def plan_offers(decision: RoutingDecision, max_partners: int = 1) -> OfferPlan:
    """The plan of a routing decision: its ranked candidates, best first."""
    return OfferPlan(decision.opportunity_key, decision.partner_ids, max_partners)


def next_offers(plan: OfferPlan, statuses: Mapping[str, str]) -> tuple[str, ...]:
    """The partners to offer the opportunity to now, best first (empty: nothing to do now).

    ``statuses``: the status of every offer made so far, by partner id.
    """
    if "withdrawn" in statuses.values():
        return ()
    holding = sum(1 for status in statuses.values() if status in HOLDING)
    free = plan.max_partners - holding
    if free <= 0:
        return ()
    picked: list[str] = []
    for partner_id in plan.order:
        if partner_id not in statuses:
            picked.append(partner_id)
            if len(picked) == free:
                break
    return tuple(picked)


def exhausted(plan: OfferPlan, statuses: Mapping[str, str]) -> bool:
    """Nobody holds the opportunity and nobody is left to offer it to (re-route or unroutable)."""
    if "withdrawn" in statuses.values():
        return False
    if any(status in HOLDING for status in statuses.values()):
        return False
    return all(partner_id in statuses for partner_id in plan.order)


def replan(plan: OfferPlan, decision: RoutingDecision) -> OfferPlan:
    """Extend the waterfall with a fresh decision's candidates (e.g. routed again, excluding the
    partners that declined): the partners already planned keep their place."""
    known = set(plan.order)
    extra = tuple(pid for pid in decision.partner_ids if pid not in known)
    return OfferPlan(plan.opportunity_key, plan.order + extra, plan.max_partners)
