"""Conflict detection: the same customer and need registered twice within a window.

The key of a registration is ``"<normalised customer domain>|<need>"`` (``https://www.Acme.com/``
and ``acme.com`` are the same customer). A later opportunity of a *different* opportunity key for the
same key within ``window_s`` of the first registration is a conflict; the originator is told the
customer and need are already registered, and nothing about by whom (a :class:`Conflict` carries no
partner and no opportunity of anyone else) nor exactly when: only the day (:func:`day_of`), so the
time cannot be matched to an offer a partner received. Publishing the same opportunity again is not a
conflict. The window runs from the first registration; once it has passed, the next opportunity
registers afresh.

State per key is a short list of ``(registered_at_ts, opportunity_key)`` pairs, JSON-friendly, so
the stream processor can keep it in a table keyed by :func:`conflict_keys`; :func:`register` is the
pure step function over it. :class:`ConflictTable` is the same over an in-memory dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.field_crypto import blind_index
from schemas.ids import opportunity_key
from schemas.opportunity import Opportunity, normalise_domain

__all__ = [
    "DEFAULT_CONFLICT_WINDOW_S",
    "Conflict",
    "ConflictTable",
    "Registration",
    "conflict_keys",
    "day_of",
    "register",
    "unregister",
]

DEFAULT_CONFLICT_WINDOW_S = 90 * 86_400.0

Registration = tuple[float, str]  # (registered at, epoch seconds; opportunity key)


@dataclass(frozen=True, slots=True)
class Conflict:
    """What the originator is told: this customer and need were already registered (by someone)."""

    domain: str
    need: str
    registered_at: datetime


def conflict_keys(opportunity: Opportunity) -> tuple[str, ...]:
    """One key per need: ``"<keyed hash of acme.com>|storage"`` (``blind_index``: the customer's
    domain never travels in clear on the claims topic)."""
    domain = blind_index(normalise_domain(opportunity.customer.domain))
    return tuple(f"{domain}|{need}" for need in dict.fromkeys(opportunity.needs))


def register(
    entries: Sequence[Registration],
    key: str,
    at_ts: float,
    *,
    window_s: float = DEFAULT_CONFLICT_WINDOW_S,
) -> tuple[float | None, tuple[Registration, ...]]:
    """Register opportunity ``key`` at ``at_ts`` against one conflict key's entries.

    Returns (the time of the earlier registration it conflicts with, or None; the entries to
    store). Expired entries are dropped; a conflicting opportunity is not stored (the first keeps
    the claim); an opportunity registered again changes nothing.
    """
    live = tuple((ts, k) for ts, k in entries if at_ts - ts < window_s)
    if any(k == key for _ts, k in live):
        return None, live
    others = [ts for ts, k in live if ts <= at_ts]
    if others:
        return min(others), live
    return None, (*live, (at_ts, key))


def unregister(entries: Sequence[Registration], key: str) -> tuple[Registration, ...]:
    """The entries without opportunity ``key``'s registration (a withdrawn probe's claim)."""
    return tuple((ts, k) for ts, k in entries if k != key)


def day_of(at_ts: float) -> float:
    """Midnight UTC of the day of ``at_ts``: what a partner is told of another's registration."""
    return at_ts - at_ts % 86_400


class ConflictTable:
    """:func:`register` over an in-memory dict (``conflict key -> registrations``)."""

    def __init__(self, *, window_s: float = DEFAULT_CONFLICT_WINDOW_S) -> None:
        self.window_s = window_s
        self._entries: dict[str, tuple[Registration, ...]] = {}

    def check(
        self, opportunity: Opportunity, *, now: datetime | None = None
    ) -> tuple[Conflict, ...]:
        """Register the opportunity at ``now`` (default: its ``published_at``); its conflicts."""
        at = (now or opportunity.published_at).timestamp()
        key = opportunity_key(opportunity.originator, opportunity.opportunity_id)
        found: list[Conflict] = []
        for ckey, need in zip(
            conflict_keys(opportunity), dict.fromkeys(opportunity.needs), strict=True
        ):
            first, stored = register(self._entries.get(ckey, ()), key, at, window_s=self.window_s)
            if stored:
                self._entries[ckey] = stored
            else:
                self._entries.pop(ckey, None)
            if first is not None:
                domain = normalise_domain(opportunity.customer.domain)
                found.append(Conflict(domain, need, datetime.fromtimestamp(day_of(first), UTC)))
        return tuple(found)

    def expire(self, now: datetime) -> int:
        """Forget registrations older than the window; how many keys were dropped."""
        ts = now.timestamp()
        dropped = 0
        for ckey in list(self._entries):
            live = tuple(e for e in self._entries[ckey] if ts - e[0] < self.window_s)
            if live:
                self._entries[ckey] = live
            else:
                del self._entries[ckey]
                dropped += 1
        return dropped

    def __len__(self) -> int:
        return len(self._entries)
