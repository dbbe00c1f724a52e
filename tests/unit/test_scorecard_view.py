"""partner-stats records -> the routing core's StatsView (ScorecardBook)."""

from __future__ import annotations

import pytest

from schemas.codec import encode
from schemas.samples import example
from streams.routing.stats import PartnerStats, StatsView
from streams.scorecards.fold import LedgerFact, PartnerAggregate, RefState, apply
from streams.scorecards.state import snapshot_record
from streams.scorecards.view import ScorecardBook

ORIGIN = ("t.partner-stats", 0, 7)


def aggregates(*facts: LedgerFact) -> dict[str, PartnerAggregate]:
    refs: dict[tuple[str, str], RefState] = {}
    aggs: dict[str, PartnerAggregate] = {}
    for seq, fact in enumerate(facts):
        for role in ("giver", "receiver"):
            partner = fact.partner(role)
            key = (partner, fact.referral_id)
            agg = aggs.get(partner) or PartnerAggregate(partner)
            ref, aggs[partner] = apply(refs.get(key), agg, fact, role, seq)  # type: ignore[arg-type]
            if ref is not None:
                refs[key] = ref
    return aggs


def feed(book: ScorecardBook, agg: PartnerAggregate) -> None:
    value, headers = snapshot_record(agg)
    book(agg.partner_id.encode(), value, headers, ORIGIN)


def story() -> dict[str, PartnerAggregate]:
    return aggregates(
        LedgerFact("r1", "netco", "storix", "offered", 0.0),
        LedgerFact("r2", "netco", "storix", "offered", 0.0),
        LedgerFact("r3", "netco", "storix", "offered", 0.0),
        LedgerFact("r1", "netco", "storix", "accepted", 30.0),
        LedgerFact("r2", "netco", "storix", "accepted", 90.0),
        LedgerFact("r2", "netco", "storix", "won", 99.0, "10.00", "USD"),
        LedgerFact("r4", "storix", "netco", "declined", 5.0),
    )


def test_the_book_is_a_routing_stats_view() -> None:
    book = ScorecardBook()
    for agg in story().values():
        feed(book, agg)
    view: StatsView = book
    assert view.partner("storix") == PartnerStats(
        offers_received=3, accepted=2, declined=0, expired=0, won=1, lost=0,
        mean_s_to_accept=60.0, open_offers=2,  # one offer unanswered + one accepted, open
    )  # fmt: skip
    assert view.partner("netco").declined == 1 and view.partner("nobody") == PartnerStats()
    assert (view.given("netco", "storix"), view.given("storix", "netco")) == (2, 0)
    assert book.scorecard("storix").revenue_won == {"USD": 10}
    assert book.scorecard("nobody").received == 0 and len(book) == 2


def test_older_revisions_and_repeats_do_not_move_the_book_back() -> None:
    early = aggregates(LedgerFact("r1", "netco", "storix", "offered", 0.0))["storix"]
    late = story()["storix"]
    book = ScorecardBook()
    feed(book, late)
    feed(book, early)
    feed(book, late)
    assert book.partner("storix").offers_received == 3 and book.applied == 1


def test_tombstones_forget_and_bad_records_are_skipped() -> None:
    book = ScorecardBook()
    for agg in story().values():
        feed(book, agg)
    book(b"netco", None, [], ORIGIN)
    assert book.given("netco", "storix") == 0 and book.partner("netco") == PartnerStats()
    value, headers = snapshot_record(story()["storix"])
    book(b"storix", b"{not json", headers, ORIGIN)
    book(b"someone-else", value, headers, ORIGIN)
    other = encode(example("io.oppbus.partner.updated.v1"), source="urn:test")
    book(b"storix", other.value, other.headers, ORIGIN)
    assert book.skipped == 3 and book.applied == 2


@pytest.mark.parametrize("partner", ["storix", "netco"])
def test_scorecards_round_trip_through_the_book(partner: str) -> None:
    book = ScorecardBook()
    agg = story()[partner]
    feed(book, agg)
    assert book.scorecard(partner).revision == agg.revision
    assert [card.partner_id for card in book] == [partner]


def test_the_book_reports_its_changes_and_peers_for_the_directory_index() -> None:
    book = ScorecardBook()
    assert book.changes_since(0) == (0, ())
    aggs = story()
    feed(book, aggs["netco"])
    revision, changed = book.changes_since(0)
    assert revision == 1 and set(changed or ()) == {"netco"}
    feed(book, aggs["storix"])
    assert book.changes_since(1) == (2, {"storix"})
    assert book.changes_since(2) == (2, ())
    assert set(book.peers("storix")) == {"netco"} and set(book.peers("netco")) == {"storix"}
    book(b"netco", None, [], ORIGIN)  # a tombstone forgets netco, and that is a change too
    assert book.changes_since(2) == (3, {"netco"})
    assert set(book.peers("storix")) == set()


def test_a_gap_longer_than_the_log_asks_for_a_full_recompute(monkeypatch) -> None:
    import streams.scorecards.view as view

    monkeypatch.setattr(view, "CHANGE_LOG", 2)
    book = ScorecardBook()
    for agg in story().values():
        feed(book, agg)
    for agg in story().values():
        book(agg.partner_id.encode(), None, [], ORIGIN)
    revision, changed = book.changes_since(0)
    assert revision == 4 and changed is None
