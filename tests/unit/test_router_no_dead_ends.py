"""No dead ends, without a broker: conflicts the operator resolves, claims released at once,
opportunities that wait for capacity or a partner, exhausted ones re-opened by their originator."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.codec import decode, encode
from schemas.events import (
    ConflictFlagged,
    ConflictResolved,
    DeclineReferral,
    OfferMade,
    OpportunityExhausted,
    OpportunityUnroutable,
    OpportunityWaiting,
    OpportunityWithdrawn,
    RerouteRequested,
)
from schemas.scorecard import empty_scorecard
from streams.deadletter import Refusal
from streams.offers.store import Pending, decode_row, due_of
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.ranker import make_ranker
from streams.routing.directory import PartnerDirectory
from streams.scorecards.view import ScorecardBook
from tests.integration.bus_kit import opportunity, partner

NOW = 1_800_000_000.0  # 2027-01-15; the opportunities close on 2027-03-31
RECHECK = 60.0


class World:
    """A router over a directory and scorecards the test changes, and its table."""

    def __init__(self, *partners: Any) -> None:
        self.directory = PartnerDirectory()
        for p in partners or (partner("netco", ["networking"]), partner("storeco", ["storage"])):
            self.directory.apply(p)
        self.stats = ScorecardBook()
        self.claims = ClaimRegistry(86_400.0, clock=lambda: NOW)
        self.router = Router(
            make_ranker(lambda: self.directory, lambda: self.stats),
            self.claims,
            ttl_s=60,
            waiting_recheck_s=RECHECK,
        )
        self.table: dict[bytes, bytes] = {}

    def run(self, handler: str, event: Any, now: float) -> list[Any]:
        pending = Pending(self.table)
        if handler == "opportunity":
            records = self.router.on_opportunity(
                event, encode(event, source="t").value, pending, now
            )
        elif handler == "tick":
            records = self.router.on_tick(event, pending, now)
        else:
            records = getattr(self.router, f"on_{handler}")(event, pending, now)
        self.table.update(dict(pending.drain()))  # type: ignore[arg-type]
        self.last = records
        return [decode(r.value, r.headers).event for r in records if r.topic == "referrals"]

    def row(self, key: bytes) -> Any:
        return decode_row(self.table[key], key)

    def busy(self, pid: str, open_offers: int, revision: int) -> None:
        card = empty_scorecard(pid).model_copy(
            update={"revision": revision, "open_offers": open_offers}
        )
        assert self.stats.apply(card)


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _acme(originator: str, oid: str, **kw: Any) -> Any:
    return opportunity(originator, oid, customer={"company": "Acme", "domain": "acme.com"}, **kw)


def _resolve(originator: str, oid: str, decision: str) -> ConflictResolved:
    return ConflictResolved(
        opportunity_id=oid,
        originator=originator,
        decision=decision,  # type: ignore[arg-type]
        reason="checked with both originators",
        resolved_at=_at(NOW + 10),
    )


def test_a_conflict_waits_for_the_operator_who_routes_it_anyway_or_rejects_it() -> None:
    w = World(
        partner("netco", ["networking"]),
        partner("adatum", ["security"]),
        partner("storeco", ["storage"]),
    )
    first = _acme("netco", "o1")
    (offer,) = w.run("opportunity", first, NOW)
    assert isinstance(offer, OfferMade)
    flag, holder = w.run("opportunity", _acme("adatum", "o2"), NOW + 1)
    assert isinstance(flag, ConflictFlagged) and not flag.holds_claim
    assert isinstance(holder, ConflictFlagged) and holder.holds_claim
    day = first.published_at.replace(hour=0, minute=0, second=0, microsecond=0)  # the day only
    assert flag.first_registered_at == holder.first_registered_at == day
    assert w.row(b"adatum/o2").state.phase == "conflict"
    (routed,) = w.run("resolved", _resolve("adatum", "o2", "route"), NOW + 10)
    assert isinstance(routed, OfferMade) and routed.opportunity_id == "o2"
    assert w.run("resolved", _resolve("adatum", "o2", "route"), NOW + 11) == []  # a repeat
    assert w.run("resolved", _resolve("adatum", "o2", "reject"), NOW + 12) == []  # decided

    w.run("opportunity", _acme("adatum", "o3"), NOW + 20)  # flagged again (o1 holds the claim)
    assert w.run("resolved", _resolve("adatum", "o3", "reject"), NOW + 21) == []
    row = w.row(b"adatum/o3")
    assert row.closed and row.state.phase == "rejected"
    with pytest.raises(Refusal):
        w.run("resolved", _resolve("adatum", "nope", "route"), NOW + 22)


def test_withdrawing_the_first_opportunity_releases_the_claim_at_once() -> None:
    w = World()
    w.run("opportunity", _acme("netco", "o1"), NOW)
    withdrawn = OpportunityWithdrawn(
        opportunity_id="o1", originator="netco", withdrawn_at=_at(NOW + 5)
    )
    w.run("withdrawn", withdrawn, NOW + 5)
    released = [r for r in w.last if r.topic == "customer-claims"]
    assert [(r.key, r.value) for r in released] == [(b"acme.com|storage", b"[]")]
    (offer,) = w.run("opportunity", _acme("adatum", "o2"), NOW + 6)  # not a conflict any more
    assert isinstance(offer, OfferMade)


def test_at_capacity_it_waits_and_is_offered_when_a_slot_frees() -> None:
    w = World()
    w.busy("storeco", 10, 1)  # capacity 10 by default... all held
    (waiting,) = w.run("opportunity", opportunity("netco", "o1"), NOW)
    assert isinstance(waiting, OpportunityWaiting) and waiting.reasons == {"at_capacity": 1}
    assert waiting.until == datetime(2027, 3, 31, 23, 59, 59, 999999, UTC)
    row = w.row(b"netco/o1")
    assert row.state.phase == "waiting" and not row.closed
    assert due_of(w.table[b"netco/o1"]) == NOW + RECHECK  # the timer looks again then
    assert w.run("tick", b"netco/o1", NOW + 1) == []  # woken, still full: no second notice
    assert due_of(w.table[b"netco/o1"]) == NOW + 1 + RECHECK
    assert w.run("tick", b"netco/o1", NOW + RECHECK) == []
    assert due_of(w.table[b"netco/o1"]) == NOW + 2 * RECHECK
    w.busy("storeco", 9, 2)
    (offer,) = w.run("tick", b"netco/o1", NOW + 2 * RECHECK)
    assert isinstance(offer, OfferMade) and offer.partner_id == "storeco"
    assert w.row(b"netco/o1").state.phase == "open"


def test_with_no_partner_yet_it_waits_until_one_joins_or_its_expected_close() -> None:
    w = World()
    (waiting,) = w.run("opportunity", opportunity("netco", "o1", needs=("printing",)), NOW)
    assert isinstance(waiting, OpportunityWaiting) and waiting.reasons == {"no_partner": 0}
    w.directory.apply(partner("printco", ["printing"]))
    (offer,) = w.run("tick", b"netco/o1", NOW + RECHECK)
    assert isinstance(offer, OfferMade) and offer.partner_id == "printco"

    w.run("opportunity", opportunity("netco", "o2", needs=("voice",)), NOW)
    close = datetime(2027, 3, 31, 23, 59, 59, 999999, UTC).timestamp()
    (gone,) = w.run("tick", b"netco/o2", close + 1)
    assert isinstance(gone, OpportunityUnroutable)
    assert w.row(b"netco/o2").closed
    # an expected close already past: nothing to wait for
    late = opportunity("netco", "o3", needs=("voice",), expected_close=date(2026, 1, 1))
    assert [type(e) for e in w.run("opportunity", late, NOW)] == [OpportunityUnroutable]


def _decline(offer: OfferMade, at: float) -> DeclineReferral:
    return DeclineReferral(
        referral_id=offer.referral_id,
        opportunity_id=offer.opportunity_id,
        originator=offer.originator,
        partner_id=offer.partner_id,
        reason="timing",
        requested_at=_at(at),
    )


def test_exhausted_has_its_counts_and_a_reroute_offers_it_to_a_new_partner_only() -> None:
    w = World()
    opp = opportunity("netco", "o1")
    (offer,) = w.run("opportunity", opp, NOW)
    _declined, exhausted = w.run("response", _decline(offer, NOW + 1), NOW + 1)
    assert isinstance(exhausted, OpportunityExhausted)
    assert (exhausted.offered, exhausted.declined, exhausted.expired) == (1, 1, 0)
    assert w.row(b"netco/o1").closed
    reroute = RerouteRequested(
        opportunity_id="o1", originator="netco", opportunity=opp, requested_at=_at(NOW + 5)
    )
    # nobody new: exhausted again (the same event: same id, same counts)
    (same,) = w.run("reroute", reroute, NOW + 5)
    assert isinstance(same, OpportunityExhausted) and same.declined == 1
    assert w.row(b"netco/o1").state.phase == "exhausted"
    w.directory.apply(partner("vaultco", ["storage"]))
    (again,) = w.run("reroute", reroute, NOW + 6)
    assert isinstance(again, OfferMade) and again.partner_id == "vaultco"
    assert again.expires_at == _at(NOW + 66)  # the offer's own deadline, not the marker's


def test_a_reroute_carrying_someone_elses_opportunity_is_refused() -> None:
    w = World()
    forged = RerouteRequested(
        opportunity_id="o1",
        originator="adatum",
        opportunity=opportunity("netco", "o1"),
        requested_at=_at(NOW),
    )
    with pytest.raises(Refusal):
        w.run("reroute", forged, NOW)
    assert w.table == {}


def test_a_wake_is_due_now_or_at_the_end_of_the_interval_and_never_postpones() -> None:
    from streams.offers.deadlines import DeadlineIndex
    from streams.router.agent import RouterAgent

    agent = RouterAgent.__new__(RouterAgent)  # only the wake's fields are used
    agent.waiting, agent.woken_at, agent.wake_interval_s = {b"a", b"b"}, 0.0, 5.0
    agent.deadlines = DeadlineIndex(retry_s=100.0)
    assert agent.wake_waiting(NOW) == 2
    assert set(agent.deadlines.pop_due(NOW)) == {b"a", b"b"}
    agent.deadlines.set(b"b", NOW + 2)
    assert agent.wake_waiting(NOW + 1) == 2  # within the interval: at its end, not dropped
    assert agent.wake_waiting(NOW + 2) == 0  # covered by the wake scheduled at NOW + 5
    assert agent.deadlines.pop_due(NOW + 2) == [b"b"]  # b's own earlier deadline stands
    assert agent.deadlines.pop_due(NOW + 5) == [b"a"]
