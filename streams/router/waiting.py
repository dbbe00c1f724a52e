"""When an opportunity nobody can take now waits instead of being given up, and until when.

It waits when the only obstacle is capacity (a partner passed every rule but holds its maximum of
open offers: ``at_capacity`` is the last rule checked) or when no partner covers its needs in its
region yet; it waits until the end of its expected-close day (UTC). Any other obstacle (competing,
refused, outside the consent scope, everyone tried) does not go away by waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Protocol

from schemas.opportunity import Opportunity

__all__ = ["waiting_reasons", "waits_until"]


class _Ranked(Protocol):
    @property
    def excluded(self) -> dict[str, int]: ...

    @property
    def considered(self) -> int: ...


def waiting_reasons(ranking: _Ranked) -> dict[str, int] | None:
    """Why the opportunity may yet be taken (reason code -> partners), or None if it may not."""
    at_capacity = ranking.excluded.get("at_capacity", 0)
    if at_capacity:
        return {"at_capacity": at_capacity}
    if ranking.considered == 0:  # nobody offers every need in the region
        return {"no_partner": 0}
    return None


def waits_until(opp: Opportunity, ranking: _Ranked, now: float) -> float | None:
    """Until when the opportunity waits (epoch seconds), or None if it does not wait."""
    if waiting_reasons(ranking) is None:
        return None
    until = datetime.combine(opp.expected_close, time.max, UTC).timestamp()
    return until if until > now else None
