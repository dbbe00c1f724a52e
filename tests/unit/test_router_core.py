"""The router's decisions and stores without a broker: handlers over a dict 'table'."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from schemas.codec import decode, encode
from schemas.errors import InvalidEvent
from schemas.events import (
    AcceptReferral,
    ConflictFlagged,
    DeadLetter,
    LeadRevealed,
    OfferMade,
    OpportunityUnroutable,
    OpportunityWaiting,
    OpportunityWithdrawn,
    ReferralAccepted,
    ReferralWithdrawn,
)
from schemas.scorecard import empty_scorecard
from streams.deadletter import EventRef, Refusal, dead_letter_domain_errors, dead_letter_record
from streams.offers.deadlines import DeadlineIndex
from streams.offers.store import Pending, decode_row, due_of
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.ranker import make_ranker
from streams.routing.directory import PartnerDirectory
from streams.scorecards.view import ScorecardBook
from tests.integration.bus_kit import opportunity, partner

NOW = 1_800_000_000.0


def _router(stats: ScorecardBook | None = None) -> Router:
    directory = PartnerDirectory()
    for p in (
        partner("netco", ["networking"], competitors=("rivalco",)),
        partner("storeco", ["storage"]),
        partner("bigco", ["storage", "networking"]),
        partner("rivalco", ["storage"]),
    ):
        directory.apply(p)
    view = stats or ScorecardBook()
    return Router(make_ranker(lambda: directory, lambda: view), ClaimRegistry(3600.0), ttl_s=60)


def _events(records) -> list:
    return [decode(r.value, r.headers).event for r in records if r.topic == "referrals"]


def test_routes_to_the_complementary_partner_and_replays_on_a_repeat() -> None:
    router, table = _router(), {}
    opp = opportunity("netco", "o1")
    data = encode(opp, source="t").value
    pending = Pending(table)
    (offer,) = _events(router.on_opportunity(opp, data, pending, NOW))
    assert isinstance(offer, OfferMade) and offer.partner_id == "storeco"
    assert [r.topic for r in router.on_opportunity(opp, data, pending, NOW + 1)] == ["referrals"]
    table.update(pending.drain())
    # published again after the row was stored: the very same offer event, nothing else
    again = router.on_opportunity(opp, data, Pending(table), NOW + 2)
    assert _events(again) == [offer]
    ((key, value),) = table.items()
    assert due_of(value) == NOW + 60
    index = DeadlineIndex(retry_s=5)
    assert index.rebuild(table.items()) == 1
    assert index.pop_due(NOW + 59) == [] and index.pop_due(NOW + 60) == [key]
    assert index.pop_due(NOW + 64) == [] and index.pop_due(NOW + 65) == [key]  # re-armed
    index.set(key, NOW + 200)  # the row moved on: the old re-arm is superseded
    assert index.pop_due(NOW + 100) == [] and index.pop_due(NOW + 200) == [key]
    index.set(key, None)
    assert len(index) == 0 and index.pop_due(NOW + 1000) == []
    assert decode_row(value).state.referrals[0].partner_id == "storeco"


def test_accept_reveals_to_the_holder_only_and_a_stranger_is_refused() -> None:
    router, table = _router(), {}
    opp = opportunity("netco", "o2")
    pending = Pending(table)
    (offer,) = _events(router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW))
    about = {
        "referral_id": offer.referral_id,
        "opportunity_id": "o2",
        "originator": "netco",
        "requested_at": datetime.fromtimestamp(NOW + 5, UTC),
    }
    with pytest.raises(Refusal) as refused:
        router.on_response(AcceptReferral(**about, partner_id="bigco"), pending, NOW + 5)
    assert refused.value.code == "unknown_referral"
    accepted, lead = _events(
        router.on_response(AcceptReferral(**about, partner_id="storeco"), pending, NOW + 5)
    )
    assert isinstance(accepted, ReferralAccepted) and isinstance(lead, LeadRevealed)
    assert lead.partner_id == "storeco" and lead.customer == opp.customer
    withdrawn = OpportunityWithdrawn(
        opportunity_id="o2", originator="netco", withdrawn_at=datetime.fromtimestamp(NOW + 9, UTC)
    )
    (w,) = _events(router.on_withdrawn(withdrawn, pending, NOW + 9))
    assert isinstance(w, ReferralWithdrawn)


def test_an_answer_after_the_deadline_expires_the_offer_first_and_is_refused() -> None:
    router, table = _router(), {}
    opp = opportunity("netco", "o3")
    pending = Pending(table)
    (offer,) = _events(router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW))
    late = AcceptReferral(
        referral_id=offer.referral_id,
        opportunity_id="o3",
        originator="netco",
        partner_id="storeco",
        requested_at=datetime.fromtimestamp(NOW + 61, UTC),
    )
    with pytest.raises(Refusal) as refused:
        router.on_response(late, pending, NOW + 61)
    kinds = [type(e).__name__ for e in _events(refused.value.outputs)]
    assert kinds == ["ReferralExpired", "OpportunityExhausted"]  # nobody else is eligible


def test_conflict_is_flagged_without_naming_the_other_and_unroutable_counts_exclusions() -> None:
    router = _router()
    first = opportunity("netco", "o4", customer={"company": "Acme", "domain": "www.acme.com"})
    second = opportunity(
        "storeco",
        "o5",
        needs=("networking",),
        customer={"company": "Acme", "domain": "https://acme.com/"},
    )
    third = opportunity("bigco", "o6", customer={"company": "Acme", "domain": "acme.com"})
    router.on_opportunity(first, b"{}", Pending({}), NOW)
    assert not any(
        isinstance(e, ConflictFlagged)
        for e in _events(router.on_opportunity(second, b"{}", Pending({}), NOW))
    )
    records = router.on_opportunity(third, b"{}", Pending({}), NOW)
    flag, holder = _events(records)
    assert isinstance(flag, ConflictFlagged) and flag.needs == ("storage",)
    assert not flag.holds_claim and "netco" not in flag.model_dump_json()
    # the first originator is told too, on its own opportunity, without learning who
    assert isinstance(holder, ConflictFlagged) and holder.holds_claim
    assert (holder.originator, holder.opportunity_id, holder.needs) == ("netco", "o4", ("storage",))
    assert "bigco" not in holder.model_dump_json() and "o6" not in holder.model_dump_json()
    assert [r.key for r in records if r.topic == "referrals"] == [b"bigco/o6", b"netco/o4"]
    # netco lists rivalco as a competitor, bigco offers the storage rivalco retains: unroutable,
    # as waiting would not change that
    competing = opportunity("rivalco", "o7", needs=("networking",))
    (unroutable,) = _events(router.on_opportunity(competing, b"{}", Pending({}), NOW))
    assert isinstance(unroutable, OpportunityUnroutable)
    assert unroutable.excluded == {"competitor": 1, "retained_capability": 1}


def test_a_partner_at_capacity_is_skipped_as_the_scorecards_report_it() -> None:
    stats = ScorecardBook()
    busy = empty_scorecard("storeco").model_copy(update={"revision": 3, "open_offers": 10})
    assert stats.apply(busy) and not stats.apply(busy.model_copy(update={"revision": 2}))
    opp = opportunity("netco", "o8")
    (only,) = _events(_router(stats).on_opportunity(opp, b"{}", Pending({}), NOW))
    assert isinstance(only, OpportunityWaiting) and only.reasons == {"at_capacity": 1}


def test_dead_letter_policy_and_record() -> None:
    ref = EventRef("p.responses", 1, 42, b"netco/o1", b"\xff\x00", [("ce_id", b"abc")], "abc")
    log = logging.getLogger("t")
    assert dead_letter_domain_errors(Refusal("cannot move"), ref, log)
    assert dead_letter_domain_errors(InvalidEvent("not_json"), ref, log)
    assert not dead_letter_domain_errors(RuntimeError("bug"), ref, log)
    key, value, headers = dead_letter_record(
        Refusal("cannot move x"), ref, consumer="router", now=NOW
    )
    record = decode(value, headers).event
    assert isinstance(record, DeadLetter) and key == b"netco/o1"
    assert (record.reason, record.detail, record.offset) == (
        "illegal_transition",
        "cannot move x",
        42,
    )
    assert record.value_encoding == "base64" and record.event_id == "abc"


def test_a_repeat_after_a_restart_publishes_the_customer_claims_a_crash_may_have_lost() -> None:
    table: dict = {}
    opp = opportunity("netco", "o1")
    data = encode(opp, source="t").value
    first = Pending(table)
    before = _router().on_opportunity(opp, data, first, NOW)
    claims = [r for r in before if r.topic == "customer-claims"]
    assert claims
    table.update(first.drain())  # the row was stored; the claims record was lost in a crash
    restarted = _router()  # a fresh worker: its claim registry never saw that record
    again = restarted.on_opportunity(opp, data, Pending(table), NOW + 5)
    assert [(r.key, r.value) for r in again if r.topic == "customer-claims"] == [
        (c.key, c.value) for c in claims
    ]
    assert _events(again) == _events(before)
    # the restored claim still flags a second opportunity for the same customer and need
    other = opportunity("netco", "o2").model_copy(update={"customer": opp.customer})
    flagged = _events(restarted.on_opportunity(other, data, Pending(table), NOW + 6))
    assert any(isinstance(e, ConflictFlagged) for e in flagged)


def test_offers_are_ranked_with_the_policy_in_force_and_name_its_version() -> None:
    from streams.policy import PolicyBook, parse_toml, weights_to_mapping
    from tests.unit.replay.test_policy_document import _version

    directory = PartnerDirectory()
    for p in (
        partner("netco", ["networking"]),
        partner("storeco", ["storage"], capacity=2),  # the specialist, nearly full
        partner("bigco", ["storage", "backup", "compute", "cloud"], capacity=40),
    ):
        directory.apply(p)
    stats = ScorecardBook()
    stats.apply(empty_scorecard("storeco").model_copy(update={"revision": 1, "open_offers": 1}))
    book = PolicyBook()
    router = Router(
        make_ranker(lambda: directory, lambda: stats, lambda: book.weights),
        ClaimRegistry(3600.0),
        ttl_s=60,
        policy_version=lambda: book.version,
    )
    (first,) = _events(router.on_opportunity(opportunity("netco", "o1"), b"{}", Pending({}), NOW))
    assert (first.partner_id, first.policy_version) == ("bigco", 0)  # defaults: load counts
    specialists = weights_to_mapping(parse_toml("load = 0.0\nfit = 4.0"))
    book.apply(_version(1, **specialists))  # taken at once, no restart
    (second,) = _events(router.on_opportunity(opportunity("netco", "o2"), b"{}", Pending({}), NOW))
    assert (second.partner_id, second.policy_version) == ("storeco", 1)
