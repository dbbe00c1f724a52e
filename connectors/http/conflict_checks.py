"""A budget of conflict checks per partner: publishing opportunities must not probe pipelines.

Every new opportunity is checked against the customers already registered (streams/routing/
conflicts.py), and its originator learns whether its customer was. Without a limit any partner
could test customer domain after customer domain. :class:`ConflictCheckBudget` allows each partner
``per_hour`` distinct customer domains in any sliding hour; publishing again for a domain it
already used in that hour is free. Beyond that, ``POST /v1/opportunities`` (and CRM inbound)
answer ``429 conflict_checks_exhausted`` with ``Retry-After`` and publish nothing. The budget is
kept per API process (bounded to ``max_partners`` partners, least recently seen dropped first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["ConflictCheckBudget"]

HOUR_S = 3600.0


@dataclass
class ConflictCheckBudget:
    per_hour: int = 200
    max_partners: int = 10_000
    _seen: OrderedDict[str, dict[str, float]] = field(default_factory=OrderedDict)

    def take(self, partner_id: str, domain: str, now: float) -> float:
        """0 when ``partner_id`` may check ``domain`` now (and it is counted), else seconds
        until it may."""
        if self.per_hour <= 0:
            return 0.0
        seen = self._seen.get(partner_id)
        if seen is None:
            seen = self._seen[partner_id] = {}
            if len(self._seen) > self.max_partners:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(partner_id)
        for old in [d for d, at in seen.items() if now - at >= HOUR_S]:
            del seen[old]
        if domain in seen:
            return 0.0
        if len(seen) >= self.per_hour:
            return max(1.0, min(seen.values()) + HOUR_S - now)
        seen[domain] = now
        return 0.0
