"""Every partnership and the network default terms, folded from the ``partnerships`` topic (pure).

A partnership record carries its whole state: the highest ``revision`` wins, so a replayed or
reordered record changes nothing. ``terms_between`` is the rule of DESIGN.md: the terms of the
active partnership between the two partners, else the network default, else none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.partnership import NetworkTerms, Partnership
from schemas.terms import Terms
from streams.partnerships.machine import in_force

__all__ = ["PartnershipBook"]


@dataclass
class PartnershipBook:
    partnerships: dict[str, Partnership] = field(default_factory=dict)
    by_partner: dict[str, set[str]] = field(default_factory=dict)
    network: NetworkTerms | None = None

    def apply(self, event: Partnership | NetworkTerms) -> bool:
        """Fold one record; True when it changed something."""
        if isinstance(event, NetworkTerms):
            if self.network is None or event.revision > self.network.revision:
                self.network = event
                return True
            return False
        current = self.partnerships.get(event.partnership_id)
        if current is not None and event.revision <= current.revision:
            return False
        self.partnerships[event.partnership_id] = event
        for side in (event.proposer, event.partner):
            self.by_partner.setdefault(side, set()).add(event.partnership_id)
        return True

    def partnerships_of(self, partner_id: str | None) -> list[Partnership]:
        """``partner_id``'s partnerships (every one for ``None``, the operator), by id."""
        ids = (
            self.partnerships.keys() if partner_id is None else self.by_partner.get(partner_id, ())
        )
        return sorted((self.partnerships[i] for i in ids), key=lambda p: p.partnership_id)

    def live_between(self, a: str, b: str) -> Partnership | None:
        """The proposed or active partnership between two partners, if any."""
        for pid in self.by_partner.get(a, ()):
            p = self.partnerships[pid]
            if p.status != "ended" and {p.proposer, p.partner} == {a, b}:
                return p
        return None

    def active_partners(self, partner_id: str) -> frozenset[str]:
        """The partners ``partner_id`` has an active partnership with."""
        found = set()
        for pid in self.by_partner.get(partner_id, ()):
            p = self.partnerships[pid]
            if p.status == "active":
                found.add(p.partner if p.proposer == partner_id else p.proposer)
        return frozenset(found)

    def terms_between(self, originator: str, receiver: str) -> Terms | None:
        """The terms in force for a referral from ``originator`` to ``receiver`` now."""
        terms = in_force(self.live_between(originator, receiver))
        if terms is not None:
            return terms
        return self.network.terms if self.network is not None else None
