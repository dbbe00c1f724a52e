"""The fee keeper reads offers made without terms no further than their bytes, and nothing else
changes: offers with terms, forged records and hostile text are handled as before."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.events import event_key
from streams.fees.keeper import FeeKeeper
from streams.record_auth import RecordAuth
from streams.runtime import SharedFollower
from streams.settings import load_settings

from .test_book import _offer

SETTINGS = load_settings({}, env={})
TOPIC = SETTINGS.topic("referrals")


def _keeper() -> FeeKeeper:
    follower = SharedFollower(SETTINGS.bootstrap_servers, name="t")  # never started here
    return FeeKeeper(None, SETTINGS, follower)  # type: ignore[arg-type]  # never sends here


def _record(event: Any, auth: RecordAuth | None = None) -> tuple[bytes, bytes, list]:
    key = event_key(event)
    enc = (auth or RecordAuth.from_settings(SETTINGS)).encode(TOPIC, key, event, source="t")
    return key, enc.value, enc.headers


def _feed(keeper: FeeKeeper, key: bytes, value: bytes, headers: list) -> None:
    keeper.referrals.sink(key, value, headers, (TOPIC, 0, 0))  # what its view feeds it


def test_an_offer_without_terms_is_skipped_before_its_mac_and_body(monkeypatch) -> None:
    keeper = _keeper()
    key, value, headers = _record(_offer("south", terms=None))
    assert b'"terms":null' in value

    def never(*_: Any) -> None:
        raise AssertionError("checked or decoded")

    monkeypatch.setattr(RecordAuth, "check", never)  # whichever instance the sink holds
    monkeypatch.setattr("streams.event_sink.decode", never)
    _feed(keeper, key, value, headers)
    assert keeper.book.referrals == {} and keeper.unauthenticated == 0


def test_an_offer_with_terms_is_kept_even_when_its_text_mimics_no_terms() -> None:
    keeper = _keeper()
    offer = _offer("south")
    hostile = offer.model_copy(
        update={"teaser": offer.teaser.model_copy(update={"industry": 'x"terms":null'})}
    )
    key, value, headers = _record(hostile)
    assert b'"terms":null' not in value  # the quote inside the string is escaped
    _feed(keeper, key, value, headers)
    assert set(keeper.book.referrals) == {offer.referral_id}


@pytest.mark.parametrize("terms", ["with", "without"])
def test_a_forged_offer_changes_nothing(terms: str) -> None:
    keeper = _keeper()
    offer = _offer("south") if terms == "with" else _offer("south", terms=None)
    key, value, headers = _record(offer, RecordAuth([b"not-the-bus-key"]))
    _feed(keeper, key, value, headers)
    assert keeper.book.referrals == {}
    assert keeper.unauthenticated == (1 if terms == "with" else 0)  # skipped unread otherwise
