"""The stats routing reads: a fixed snapshot, defaults for partners never seen, validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.routing import PartnerStats, RoutingStats, route

from .factories import ORIGIN, T0, directory, opportunity, profile


def test_partner_never_seen_has_empty_stats() -> None:
    stats = RoutingStats({"pa": PartnerStats(accepted=2)}, {("pa", "pb"): 3})
    assert stats.partner("zz") == PartnerStats()
    assert stats.given("pa", "pb") == 3 and stats.given("pb", "pa") == 0


def test_capacity_reads_open_offers_from_the_stats() -> None:
    stats = RoutingStats({"pa": PartnerStats(open_offers=1)})
    d = directory(ORIGIN, profile("pa", capacity=1))
    decision = route(opportunity(), d, stats, now=T0 + timedelta(hours=1))
    assert decision.exclusions["at_capacity"] == 1


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError):
        PartnerStats(open_offers=-1)
    with pytest.raises(ValueError):
        PartnerStats(mean_s_to_accept=-1.0)
