"""Closed opportunities shrink to compact markers that answer late inputs exactly as before, and
are forgotten after their retention; the conflict registry forgets registrations past its window."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import decode, encode
from schemas.events import (
    AcceptReferral,
    DeclineReferral,
    OfferMade,
    OpportunityWithdrawn,
    ReferralDeclined,
    ReferralWon,
    ReportOutcome,
)
from schemas.ids import referral_id
from streams.deadletter import Refusal
from streams.ledger.machine import Referral, Status
from streams.offers.closed import compact, decode_marker, encode_marker, is_closed
from streams.offers.deadlines import DeadlineIndex
from streams.offers.lifecycle import OpportunityState
from streams.offers.store import Pending, Row, decode_row, due_of
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.ranker import make_ranker
from streams.routing.directory import PartnerDirectory
from streams.scorecards.view import ScorecardBook
from tests.integration.bus_kit import opportunity, partner

NOW = 1_800_000_000.0
RETENTION = 3600.0


def _router(claims: ClaimRegistry | None = None) -> Router:
    directory = PartnerDirectory()
    for p in (
        partner("netco", ["networking"]),
        partner("storeco", ["storage"]),
        partner("vaultco", ["storage"]),
    ):
        directory.apply(p)
    book = ScorecardBook()
    return Router(
        make_ranker(lambda: directory, lambda: book),
        claims or ClaimRegistry(86_400.0, clock=lambda: NOW),
        ttl_s=60,
        closed_retention_s=RETENTION,
    )


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _about(offer: OfferMade, t: float) -> dict:
    return {
        "referral_id": offer.referral_id,
        "opportunity_id": offer.opportunity_id,
        "originator": offer.originator,
        "partner_id": offer.partner_id,
        "requested_at": _at(t),
    }


def _referrals(records) -> list:
    return [r for r in records if r.topic == "referrals"]


def _won(amount: str = "98000.00") -> dict:
    return {"status": "won", "amount": {"amount": amount, "currency": "USD"}}


def _won_opportunity(oid: str = "o1"):
    """Route, accept and win one opportunity: (router, table, offer, the won record, data)."""
    router, table = _router(), {}
    opp = opportunity("netco", oid)
    data = encode(opp, source="t").value
    pending = Pending(table)
    (rec,) = _referrals(router.on_opportunity(opp, data, pending, NOW))
    offer = decode(rec.value, rec.headers).event
    router.on_response(AcceptReferral(**_about(offer, NOW + 1)), pending, NOW + 1)
    won = router.on_response(ReportOutcome(**_about(offer, NOW + 2), **_won()), pending, NOW + 2)
    table.update(pending.drain())
    return router, table, offer, won[0], data


def test_a_won_opportunity_is_stored_as_a_small_marker_due_at_the_end_of_its_retention() -> None:
    _, table, offer, _, data = _won_opportunity()
    ((key, value),) = table.items()
    assert value.split(b"|", 1)[1][:1] == b"["  # the marker, not the full row
    assert len(value) < 120 < 400 < len(data)  # the full row embedded the whole opportunity
    assert due_of(value) == NOW + 2 + RETENTION
    row = decode_row(value, key)
    assert row.closed and row.opportunity == b""
    (ref,) = row.state.referrals
    assert (ref.referral_id, ref.partner_id, ref.status) == (
        offer.referral_id,
        offer.partner_id,
        Status.WON,
    )
    assert (ref.amount, ref.currency, ref.updated_at) == (Decimal("98000.00"), "USD", NOW + 2)
    index = DeadlineIndex()
    assert index.rebuild(table.items()) == 1 and index.pop_due(NOW + RETENTION + 2) == [key]


def test_a_repeated_outcome_on_the_marker_replays_the_very_same_event() -> None:
    router, table, offer, won, _ = _won_opportunity()
    again = router.on_response(
        ReportOutcome(**_about(offer, NOW + 50), **_won()), Pending(table), NOW + 50
    )
    assert [(r.topic, r.key, r.value, r.headers) for r in again] == [
        (won.topic, won.key, won.value, won.headers)
    ]
    assert isinstance(decode(won.value, won.headers).event, ReferralWon)


def test_the_marker_refuses_what_the_full_row_refused_with_the_same_reason() -> None:
    router, table, offer, _, _ = _won_opportunity()
    with pytest.raises(Refusal) as illegal:
        router.on_response(AcceptReferral(**_about(offer, NOW + 9)), Pending(table), NOW + 9)
    assert illegal.value.code == "illegal_transition" and not illegal.value.outputs
    assert f"cannot move referral {offer.referral_id} from won to accepted" in str(illegal.value)
    with pytest.raises(Refusal) as other:  # a won outcome with another amount
        router.on_response(
            ReportOutcome(**_about(offer, NOW + 9), **_won("1.00")), Pending(table), NOW + 9
        )
    assert "from won to won" in str(other.value)
    stranger = {**_about(offer, NOW + 9), "partner_id": "vaultco"}
    with pytest.raises(Refusal) as unknown:
        router.on_response(AcceptReferral(**stranger), Pending(table), NOW + 9)
    assert unknown.value.code == "unknown_referral"


def test_a_declined_then_exhausted_opportunity_replays_its_decline_from_the_marker() -> None:
    router, table = _router(), {}
    opp = opportunity("netco", "o2")
    pending = Pending(table)
    first = router.on_opportunity(opp, encode(opp, source="t").value, pending, NOW)
    offers = [decode(r.value, r.headers).event for r in _referrals(first)]
    declines = []
    while offers:  # every storage partner declines in turn: the opportunity is exhausted
        offer = next(o for o in offers if isinstance(o, OfferMade))
        decline = DeclineReferral(**_about(offer, NOW + 5), reason="timing", note="next quarter")
        records = router.on_response(decline, pending, NOW + 5)
        declines.append((decline, records[0]))
        offers = [
            e
            for e in (decode(r.value, r.headers).event for r in _referrals(records))
            if isinstance(e, OfferMade)
        ]
    table.update(pending.drain())
    row = decode_row(table[b"netco/o2"], b"netco/o2")
    assert row.closed and row.state.phase == "exhausted" and is_closed(row.state)
    for decline, first in declines:
        (again,) = router.on_response(decline, Pending(table), NOW + 30)
        assert (again.value, again.headers) == (first.value, first.headers)
        assert isinstance(decode(again.value, again.headers).event, ReferralDeclined)


def test_republish_and_withdraw_of_a_closed_opportunity_publish_nothing_and_keep_the_marker() -> (
    None
):
    router, table, _, _, data = _won_opportunity()
    before = dict(table)
    opp = opportunity("netco", "o1")
    pending = Pending(table)
    assert router.on_opportunity(opp, data, pending, NOW + 10) == []
    withdrawn = OpportunityWithdrawn(opportunity_id="o1", originator="netco", withdrawn_at=_at(NOW))
    assert router.on_withdrawn(withdrawn, pending, NOW + 11) == []
    assert pending.drain() == [] and table == before


def test_the_tick_at_the_end_of_the_retention_deletes_the_marker_and_the_id_is_forgotten() -> None:
    router, table, _, _, data = _won_opportunity()
    pending = Pending(table)
    assert router.on_tick(b"netco/o1", pending, NOW + RETENTION) == []  # not yet (won at +2)
    assert pending.drain() == []
    assert router.on_tick(b"netco/o1", pending, NOW + RETENTION + 2) == []
    assert pending.get(b"netco/o1") is None
    assert pending.drain() == [(b"netco/o1", None)]  # a tombstone for the changelog
    del table[b"netco/o1"]
    again = router.on_opportunity(opportunity("netco", "o1"), data, Pending(table), NOW + 4000)
    assert [type(decode(r.value, r.headers).event) for r in _referrals(again)] == [OfferMade]


def test_a_conflicting_opportunity_keeps_its_row_until_the_operator_decides() -> None:
    router, table = _router(), {}
    first = opportunity("netco", "o5", customer={"company": "Acme", "domain": "acme.com"})
    second = opportunity("storeco", "o6", needs=("networking", "storage"), customer=first.customer)
    pending = Pending(table)
    router.on_opportunity(first, b"", pending, NOW)
    router.on_opportunity(second, encode(second, source="t").value, pending, NOW)
    table.update(pending.drain())
    row = decode_row(table[b"storeco/o6"], b"storeco/o6")
    assert not row.closed and row.state.phase == "conflict" and row.state.referrals == ()
    assert not is_closed(row.state) and row.opportunity  # a "route" decision needs it
    assert router.on_opportunity(second, b"", Pending(table), NOW + 1) == []  # no claim taken


_statuses = st.sampled_from(sorted(s for s in Status if s not in (Status.OFFERED, Status.ACCEPTED)))
_text = st.none() | st.text(max_size=30)


@st.composite
def _closed_states(draw: st.DrawFn) -> OpportunityState:
    partners = draw(
        st.lists(st.from_regex(r"[a-z]{1,12}", fullmatch=True), max_size=4, unique=True)
    )
    refs = []
    for p in partners:
        status = draw(_statuses)
        won = status is Status.WON
        refs.append(
            Referral(
                referral_id=referral_id("origin", "opp-9", p),
                opportunity_key="origin/opp-9",
                partner_id=p,
                status=status,
                offered_at=draw(st.floats(0, 2e9)),
                expires_at=draw(st.floats(0, 2e9)),
                updated_at=draw(st.floats(0, 2e9)),
                score=draw(st.floats(0, 1)),
                reasons=({"factor": "fit", "weight": 0.5},),
                rank=draw(st.integers(1, 9)),
                reason=None if won else draw(_text),
                note=None if won else draw(_text),
                amount=Decimal(draw(st.integers(0, 10**9))) / 100 if won else None,
                currency="EUR" if won else None,
            )
        )
    return OpportunityState(
        key="origin/opp-9",
        originator="origin",
        opportunity_id="opp-9",
        max_partners=draw(st.integers(1, 5)),
        ttl_s=60.0,
        phase=draw(st.sampled_from(["open", "withdrawn", "exhausted", "unroutable", "rejected"])),
        referrals=tuple(refs),
        opened_at=5.0,
        rounds=len(refs),
    )


@given(_closed_states())
def test_a_marker_decodes_to_the_compact_state_with_everything_a_replay_needs(state) -> None:
    assert is_closed(state)
    back = decode_marker(state.key, encode_marker(state))
    assert back == compact(state)
    for full, slim in zip(state.referrals, back.referrals, strict=True):
        kept = ("referral_id", "partner_id", "status", "updated_at", "reason", "note", "amount")
        assert all(getattr(full, f) == getattr(slim, f) for f in (*kept, "currency"))
    row = Row(compact(state), b"", 123.456)
    assert decode_row(row.encode(), b"origin/opp-9") == row


def test_an_open_state_is_not_closed() -> None:
    state = decode_row(_won_opportunity()[1][b"netco/o1"], b"netco/o1").state
    offered = Referral("ref_x", "netco/o1", "vaultco", Status.OFFERED, NOW, NOW + 60, NOW)
    accepted = Referral("ref_y", "netco/o1", "storeco", Status.ACCEPTED, NOW, NOW + 60, NOW)
    assert not is_closed(OpportunityState(**{**state.__dict__, "referrals": (offered,)}))
    assert not is_closed(OpportunityState(**{**state.__dict__, "referrals": (accepted,)}))


def test_claims_past_the_window_are_pruned_and_not_loaded_from_the_topic() -> None:
    clock = [NOW]
    claims = ClaimRegistry(1000.0, clock=lambda: clock[0])
    old = opportunity("netco", "o7", customer={"company": "A", "domain": "a.example"})
    found, records = claims.register(old, "netco/o7", NOW)
    assert found is None and len(claims) == 1 and records
    clock[0] = NOW + 500  # a prune runs every tenth of the window, on the worker's clock
    claims.register(opportunity("netco", "o8"), "netco/o8", NOW + 500)
    assert len(claims) == 2
    clock[0] = NOW + 1001
    claims.register(opportunity("netco", "o9"), "netco/o9", NOW + 1001)
    assert len(claims) == 2  # o7's registration is past the window: dropped
    assert claims.prune(NOW + 1600) == 1 and len(claims) == 1
    value = orjson.dumps([[NOW, "x/o1"]])
    claims.apply_record(b"b.example|storage", value, [], ("t", 0, 0))
    assert len(claims) == 1  # already expired on this worker's clock: not kept
    claims.apply_record(b"b.example|storage", orjson.dumps([[NOW + 1500, "x/o1"]]), [], ("t", 0, 1))
    assert len(claims) == 2


def test_a_closed_opportunity_published_again_does_not_take_its_released_claim_again() -> None:
    _, table, _, _, data = _won_opportunity()
    fresh = _router(ClaimRegistry(86_400.0, clock=lambda: NOW))  # as after a restart
    opp = opportunity("netco", "o1")
    pending = Pending(table)
    assert fresh.on_opportunity(opp, data, pending, NOW + 10) == []
    assert pending.drain() == [] and len(fresh.claims) == 0
