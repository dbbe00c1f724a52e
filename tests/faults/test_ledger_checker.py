"""The fault suite's checker must catch loss, second offers and over-offering (no broker needed)."""

from __future__ import annotations

from tests.faults.ledger import OfferRecord, check_offers, expiries_missing


def _rid(key: str, partner: str) -> str:
    return f"ref:{key}:{partner}"


def _offer(key: str, partner: str, round_: int = 1, event: str | None = None) -> OfferRecord:
    return OfferRecord(key, partner, _rid(key, partner), round_, event or f"e:{key}:{partner}")


def test_a_clean_ledger_passes_and_counts_redeliveries_without_calling_them_duplicates() -> None:
    offers = [_offer("a/1", "p1"), _offer("a/2", "p2"), _offer("a/1", "p1")]  # one redelivery
    report = check_offers(["a/1", "a/2"], offers, referral_id_of=_rid)
    assert report.ok, report.summary()
    assert report.figures()["redelivered"] == 1
    assert report.offered == 2 and report.offer_events == 3


def test_an_opportunity_never_offered_is_lost_unless_declared_unroutable() -> None:
    report = check_offers(["a/1", "a/2", "a/3"], [_offer("a/1", "p1")], referral_id_of=_rid)
    assert report.lost == ["a/2", "a/3"] and not report.ok
    report = check_offers(
        ["a/1", "a/2"], [_offer("a/1", "p1")], referral_id_of=_rid, unroutable=["a/2"]
    )
    assert report.ok


def test_a_second_offer_to_the_same_partner_in_another_round_is_a_duplicate() -> None:
    offers = [_offer("a/1", "p1", 1), _offer("a/1", "p2", 2), _offer("a/1", "p1", 3, "x")]
    report = check_offers(["a/1"], offers, referral_id_of=_rid)
    assert report.duplicated == [("a/1", "p1")]


def test_a_redelivery_that_picks_another_partner_is_over_offering() -> None:
    offers = [_offer("a/1", "p1", 1), _offer("a/1", "p2", 1)]
    assert check_offers(["a/1"], offers, referral_id_of=_rid).over_offered == ["a/1"]
    limits = {"a/1": 2}
    assert check_offers(["a/1"], offers, referral_id_of=_rid, max_partners=limits).ok


def test_an_unstable_referral_id_and_an_unknown_opportunity_are_reported() -> None:
    bad = OfferRecord("a/1", "p1", "ref:other", 1, "e1")
    report = check_offers(["a/1"], [bad, _offer("zz/9", "p1")], referral_id_of=_rid)
    assert report.wrong_referral_id == ["ref:other"]
    assert report.unexpected == ["zz/9"]


def test_every_offered_referral_must_expire_when_nobody_answers() -> None:
    assert expiries_missing(["r1", "r2", "r2"], ["r1"]) == ["r2"]
    assert expiries_missing(["r1"], ["r1", "r1"]) == []
