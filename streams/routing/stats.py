"""The statistics routing reads: per-partner referral counts and reciprocity between pairs.

Produced by the scorecards context from the referral event stream, read by :func:`route`.
Everything here is a plain value; the router never writes it.

``PartnerStats`` (one per partner, all counts since the partner joined):

================== ==========================================================================
offers_received    offers made to the partner (every ``offered`` event)
accepted           offers it accepted
declined           offers it declined
expired            offers that reached their deadline unanswered
won / lost         outcomes it reported on accepted referrals
mean_s_to_accept   mean seconds from offer to acceptance (None until the first acceptance)
open_offers        what counts against the profile's ``capacity``: offers awaiting an answer
                   plus accepted referrals not closed yet
================== ==========================================================================

Reciprocity: ``given(giver, receiver)`` is the number of referrals ``giver`` originated that
``receiver`` accepted. Anything with the two methods of :class:`StatsView` can be passed to
:func:`route`: :class:`RoutingStats` is an immutable snapshot (tests, bench);
``streams.scorecards.view.ScorecardBook`` is kept up to date from the ``partner-stats`` topic.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from streams.routing.weights import Weights

__all__ = [
    "NEW_PARTNER",
    "NO_STATS",
    "PartnerStats",
    "RoutingStats",
    "StatsView",
    "peer_index",
    "stats_factors",
    "stats_part",
]


@dataclass(frozen=True, slots=True)
class PartnerStats:
    """Referral counts of one partner (see the module docstring for each field)."""

    offers_received: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    won: int = 0
    lost: int = 0
    mean_s_to_accept: float | None = None
    open_offers: int = 0

    def __post_init__(self) -> None:
        counts = (
            self.offers_received,
            self.accepted,
            self.declined,
            self.expired,
            self.won,
            self.lost,
            self.open_offers,
        )
        if min(counts) < 0:
            raise ValueError("PartnerStats counts cannot be negative")
        if self.mean_s_to_accept is not None and self.mean_s_to_accept < 0:
            raise ValueError("mean_s_to_accept cannot be negative")


NEW_PARTNER = PartnerStats()


class StatsView(Protocol):
    """What :func:`route` needs to know about past referrals."""

    def partner(self, partner_id: str) -> PartnerStats:
        """The partner's stats; a partner never seen has ``PartnerStats()`` (all zero)."""
        ...

    def given(self, giver: str, receiver: str) -> int:
        """Referrals originated by ``giver`` that ``receiver`` accepted."""
        ...


def stats_factors(stats: PartnerStats, w: Weights) -> tuple[float, float, float]:
    """The acceptance, win and speed factors of a partner's stats (see ``weights``)."""
    prior = w.prior * w.prior_strength
    decided = stats.accepted + stats.declined + stats.expired + w.prior_strength
    acceptance = (stats.accepted + prior) / decided if decided > 0 else w.prior
    closed = stats.won + stats.lost + w.prior_strength
    win = (stats.won + prior) / closed if closed > 0 else w.prior
    mean = stats.mean_s_to_accept
    speed = w.unknown if mean is None else 1.0 / (1.0 + mean / w.speed_half_life_s)
    return acceptance, win, speed


def stats_part(stats: PartnerStats, w: Weights) -> float:
    """The weighted sum of the stats factors, as the score adds it (one float, one order)."""
    acceptance, win, speed = stats_factors(stats, w)
    return w.acceptance * acceptance + w.win * win + w.speed * speed


def peer_index(pairs: Mapping[tuple[str, str], int]) -> dict[str, frozenset[str]]:
    """Partner id -> the partners it has a non-zero ``given`` count with, either way."""
    peers: dict[str, set[str]] = {}
    for (giver, receiver), n in pairs.items():
        if n:
            peers.setdefault(giver, set()).add(receiver)
            peers.setdefault(receiver, set()).add(giver)
    return {pid: frozenset(p) for pid, p in peers.items()}


_EMPTY_PARTNERS: Mapping[str, PartnerStats] = MappingProxyType({})
_EMPTY_PAIRS: Mapping[tuple[str, str], int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RoutingStats:
    """A snapshot of the stats: ``partners[partner_id]`` and ``given[(giver, receiver)]``.

    Immutable: :meth:`changes_since` reports no change, so a directory synced with it once
    ranks with it without recomputing anything.
    """

    partners: Mapping[str, PartnerStats] = field(default_factory=lambda: _EMPTY_PARTNERS)
    pairs: Mapping[tuple[str, str], int] = field(default_factory=lambda: _EMPTY_PAIRS)
    _peers: Mapping[str, frozenset[str]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_peers", peer_index(self.pairs))

    def changes_since(self, revision: int) -> tuple[int, Collection[str] | None]:
        """(the current revision, the partners changed since ``revision``): never any."""
        return 0, ()

    def peers(self, partner_id: str) -> Collection[str]:
        """The partners with a non-zero ``given`` count with ``partner_id``, either way."""
        return self._peers.get(partner_id, frozenset())

    def partner(self, partner_id: str) -> PartnerStats:
        return self.partners.get(partner_id, NEW_PARTNER)

    def given(self, giver: str, receiver: str) -> int:
        return self.pairs.get((giver, receiver), 0)


NO_STATS = RoutingStats()
