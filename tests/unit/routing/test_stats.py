"""The stats routing reads: snapshots from scorecards, newest revision wins, reciprocity pairs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.scorecard import PairReciprocity, empty_scorecard
from streams.routing import PartnerStats, StatsBook, partner_stats_of, route

from .factories import ORIGIN, T0, directory, opportunity, profile


def _card(pid: str, revision: int, **fields):
    return empty_scorecard(pid).model_copy(update={"revision": revision, **fields})


def test_scorecard_maps_to_partner_stats() -> None:
    card = _card(
        "pa",
        3,
        received=10,
        accepted=6,
        declined=3,
        expired=1,
        won=2,
        lost=1,
        open_offers=2,
        mean_seconds_to_accept=120.0,
    )
    assert partner_stats_of(card) == PartnerStats(10, 6, 3, 1, 2, 1, 120.0, 2)


def test_stats_book_keeps_the_highest_revision() -> None:
    book = StatsBook()
    assert book.apply(_card("pa", 2, open_offers=2))
    assert not book.apply(_card("pa", 1, open_offers=9))
    assert not book.apply(_card("pa", 2, open_offers=9))
    assert book.partner("pa").open_offers == 2
    assert book.partner("never-seen") == PartnerStats()


def test_stats_book_reciprocity_counts_accepted_referrals_given() -> None:
    book = StatsBook()
    pair = PairReciprocity(
        partner_id="origin", given=5, received=0, given_accepted=3, received_accepted=0
    )
    book.apply(_card("pa", 1, reciprocity=(pair,)))
    assert book.given("pa", "origin") == 3 and book.given("origin", "pa") == 0
    book.apply(_card("pa", 2, reciprocity=()))
    assert book.given("pa", "origin") == 0


def test_capacity_reads_open_offers_from_the_stats_book() -> None:
    book = StatsBook()
    book.apply(_card("pa", 1, open_offers=1))
    d = directory(ORIGIN, profile("pa", capacity=1))
    decision = route(opportunity(), d, book, now=T0 + timedelta(hours=1))
    assert decision.exclusions["at_capacity"] == 1


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError):
        PartnerStats(open_offers=-1)
