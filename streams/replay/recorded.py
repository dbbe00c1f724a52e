"""What live routing recorded for each opportunity: its first offers, their policy, or why none.

A first pass over the history (offers are logged after the opportunity they route) so the replay
can compare its own decision with the recorded one at the moment it routes the opportunity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.common import Contract
from schemas.ids import opportunity_key
from schemas.operations import ConflictFlagged, OpportunityUnroutable
from schemas.referrals import OfferMade

__all__ = ["Recorded", "recorded_routing"]


@dataclass(slots=True)
class Recorded:
    """The live outcome of one opportunity's first routing."""

    offered: list[tuple[int, str]] = field(default_factory=list)  # (rank, partner) of round 1
    # per offered partner, its offer's partnership reason (absent on offers made before it)
    partnered: dict[str, bool] = field(default_factory=dict)
    policy_version: int | None = None
    unroutable: bool = False
    conflict: bool = False

    @property
    def first_choice(self) -> str | None:
        return min(self.offered)[1] if self.offered else None

    @property
    def partners(self) -> tuple[str, ...]:
        return tuple(p for _rank, p in sorted(self.offered))


def recorded_routing(events: Iterable[Contract]) -> dict[str, Recorded]:
    """Per opportunity key, what its first round of routing published."""
    out: dict[str, Recorded] = {}
    for event in events:
        if isinstance(event, OfferMade):
            if event.round == 1:
                rec = out.setdefault(
                    opportunity_key(event.originator, event.opportunity_id), Recorded()
                )
                rec.offered.append((event.rank, event.partner_id))
                for reason in event.reasons:
                    if reason.factor == "partnership" and reason.value is not None:
                        rec.partnered[event.partner_id] = reason.value > 0
                if event.policy_version is not None:
                    rec.policy_version = event.policy_version
        elif isinstance(event, OpportunityUnroutable):
            if event.round == 1:
                key = opportunity_key(event.originator, event.opportunity_id)
                out.setdefault(key, Recorded()).unroutable = True
        elif isinstance(event, ConflictFlagged):
            key = opportunity_key(event.originator, event.opportunity_id)
            out.setdefault(key, Recorded()).conflict = True
    return out
