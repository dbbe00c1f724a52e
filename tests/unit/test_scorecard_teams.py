"""Scorecards of a team: each role's outcome counts for its member (originator-member pairs) and
an assembled team counts once per pair of members (member-member reciprocity), whatever is
redelivered."""

from __future__ import annotations

from schemas.codec import encode
from schemas.scorecard import PartnerScorecard
from streams.offers.store import Pending
from streams.router.emit import Out
from streams.scorecards.facts import facts_from_record, routed_packs, unpack
from streams.scorecards.state import aggregate_from_json, aggregate_to_json
from tests.unit.test_api_views_teams import _Bus
from tests.unit.test_router_teams import NOW, _accept
from tests.unit.test_scorecard_fold import Pipeline


def _fold(bus: _Bus, records: list, pipeline: Pipeline) -> None:
    facts = [f for r in records for f in facts_from_record(r.value, r.headers)]
    for partner, value in routed_packs(facts):
        for role, fact in unpack(value):
            assert fact.partner(role) == partner.decode()
            pipeline.seq += 1
            pipeline.deliver(fact, role, pipeline.seq)
    del bus


def _records(bus: _Bus, cmd, t: float) -> list:
    pending = Pending(bus.table)
    out = [r for r in bus.router.on_response(cmd, pending, NOW + t) if r.topic == "referrals"]
    bus.table.update(pending.drain())
    return out


def test_an_assembled_team_counts_its_roles_and_its_member_pairs_once() -> None:
    bus = _Bus()
    pipeline = Pipeline()
    opp = bus.views.opportunity_of("netco", "t1")
    assert opp is not None
    offers = [bus.views.referrals[r].offer for r in opp.referrals]
    members = sorted(o.partner_id for o in offers)
    _fold(bus, [_as_record(o) for o in offers], pipeline)
    last: list = []
    for i, pid in enumerate(members):
        last = _records(bus, _accept(pid, NOW + i + 1), i + 1)
        _fold(bus, last, pipeline)
    _fold(bus, last, pipeline)  # the assembled news redelivered: counted once
    a, b = members
    for me, other in ((a, b), (b, a)):
        card = PartnerScorecard.model_validate(
            {**pipeline.card(me), "partner_id": me, "updated_at": None}
        )
        pairs = {p.partner_id: p for p in card.reciprocity}
        assert pairs[other].teamed == 1 and pairs[other].given == pairs[other].received == 0
        assert pairs["netco"].received == 1 and pairs["netco"].received_accepted == 1
        assert card.accepted == 1 and card.received == 1
    netco = pipeline.card("netco")
    assert netco["given"] == 2 and netco["given_accepted"] == 2
    assert all("teamed" not in p for p in netco["reciprocity"])  # the prime is no member
    # the stored aggregate keeps the pair counts, older 4-count records still load
    stored = aggregate_to_json(pipeline.agg(a))
    assert aggregate_from_json(stored).pairs[b][4] == 1
    stored["pairs"] = {b: [0, 0, 0, 0]}
    assert aggregate_from_json(stored).pairs[b] == (0, 0, 0, 0, 0)


def _as_record(offer):
    enc = encode(offer, source="t")
    return Out("referrals", b"k", enc.value, enc.headers)
