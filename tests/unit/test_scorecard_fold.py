"""The pure scorecard fold: figures, idempotence, crash replays, order independence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import decode
from schemas.events import event_key
from schemas.scorecard import PartnerScorecard, empty_scorecard
from streams.scorecards.fold import (
    LedgerFact,
    PartnerAggregate,
    RefState,
    Role,
    apply,
    path,
)
from streams.scorecards.state import (
    aggregate_from_json,
    aggregate_to_json,
    ref_from_json,
    ref_to_json,
    snapshot,
    snapshot_record,
)

ROLES: tuple[Role, ...] = ("giver", "receiver")


class Pipeline:
    """What the agent does per input, without Faust: two views per fact, positions increasing."""

    def __init__(self) -> None:
        self.refs: dict[tuple[str, str], RefState] = {}
        self.aggs: dict[str, PartnerAggregate] = {}
        self.seq = 0

    def agg(self, partner: str) -> PartnerAggregate:
        return self.aggs.get(partner) or PartnerAggregate(partner)

    def feed(self, *facts: LedgerFact) -> None:
        for fact in facts:
            for role in ROLES:
                self.seq += 1
                self.deliver(fact, role, self.seq)

    def deliver(self, fact: LedgerFact, role: Role, seq: int) -> None:
        partner = fact.partner(role)
        key = (partner, fact.referral_id)
        ref, agg = apply(self.refs.get(key), self.agg(partner), fact, role, seq)
        if ref is not None:
            self.refs[key] = ref
        self.aggs[partner] = agg

    def card(self, partner: str) -> dict:
        return snapshot(self.agg(partner))


def fact(ref: str, status: str, at: float, *, giver: str = "netco", receiver: str = "storix",
         amount: str | None = None, currency: str | None = None) -> LedgerFact:  # fmt: skip
    return LedgerFact(ref, giver, receiver, status, at, amount, currency)  # type: ignore[arg-type]


def test_won_referral_updates_both_partners() -> None:
    p = Pipeline()
    p.feed(
        fact("r1", "offered", 1000.0),
        fact("r1", "accepted", 1120.0),
        fact("r1", "won", 5000.0, amount="1250.50", currency="EUR"),
    )
    storix = p.card("storix")
    assert storix["received"] == 1 and storix["accepted"] == 1 and storix["won"] == 1
    assert storix["open_offers"] == 0 and storix["active"] == 0
    assert storix["acceptance_rate"] == 1.0 and storix["win_rate"] == 1.0
    assert storix["mean_seconds_to_accept"] == 120.0
    assert storix["median_seconds_to_accept"] == 120.0
    assert storix["revenue_won"] == {"EUR": "1250.50"}
    assert storix["reciprocity"] == [
        {"partner_id": "netco", "given": 0, "received": 1, "given_accepted": 0,
         "received_accepted": 1}
    ]  # fmt: skip
    assert storix["updated_at"] == "1970-01-01T01:23:20Z"
    netco = p.card("netco")
    assert (netco["given"], netco["given_accepted"], netco["given_won"]) == (1, 1, 1)
    assert netco["received"] == 0 and netco["revenue_won"] == {}
    assert netco["revenue_from_given"] == {"EUR": "1250.50"}
    assert netco["reciprocity"] == [
        {"partner_id": "storix", "given": 1, "received": 0, "given_accepted": 1,
         "received_accepted": 0}
    ]  # fmt: skip
    for card in (storix, netco):
        PartnerScorecard.model_validate(card)


def test_rates_open_offers_and_revenue_per_currency() -> None:
    p = Pipeline()
    p.feed(*(fact(f"r{i}", "offered", 0.0) for i in range(6)))
    assert p.card("storix")["open_offers"] == 6
    p.feed(
        fact("r0", "accepted", 10.0),
        fact("r1", "accepted", 30.0),
        fact("r2", "accepted", 20.0),
        fact("r3", "declined", 5.0),
        fact("r4", "expired", 99.0),
        fact("r0", "won", 100.0, amount="100.10", currency="USD"),
        fact("r1", "won", 100.0, amount="0.90", currency="USD"),
        fact("r2", "lost", 100.0),
        fact("r5", "withdrawn", 100.0),
    )
    card = p.card("storix")
    assert card["open_offers"] == 0 and card["active"] == 0 and card["withdrawn"] == 1
    assert card["acceptance_rate"] == round(3 / 5, 6)
    assert card["win_rate"] == round(2 / 3, 6)
    assert card["mean_seconds_to_accept"] == 20.0 and card["median_seconds_to_accept"] == 20.0
    assert card["revenue_won"] == {"USD": "101.00"}


def test_withdrawal_after_acceptance_closes_the_active_referral() -> None:
    p = Pipeline()
    p.feed(fact("r1", "offered", 0.0), fact("r1", "accepted", 1.0))
    assert (p.card("storix")["open_offers"], p.card("storix")["active"]) == (0, 1)
    p.feed(fact("r1", "withdrawn", 2.0))
    card = p.card("storix")
    assert (card["open_offers"], card["active"], card["withdrawn"]) == (0, 0, 1)


def test_duplicate_and_stale_events_change_nothing() -> None:
    p = Pipeline()
    events = [fact("r1", "offered", 0.0), fact("r1", "accepted", 60.0)]
    p.feed(*events)
    before = {name: p.card(name) for name in ("netco", "storix")}
    p.feed(*events, events[0], fact("r1", "declined", 70.0))  # duplicates + an illegal move
    assert {name: p.card(name) for name in ("netco", "storix")} == before


def test_skipped_steps_are_implied() -> None:
    p = Pipeline()
    p.feed(fact("r9", "won", 50.0, amount="10.00", currency="GBP"))
    card = p.card("storix")
    assert (card["received"], card["accepted"], card["won"], card["revision"]) == (1, 1, 1, 3)
    assert card["accepted_timed"] == 0 and card["mean_seconds_to_accept"] is None


def test_replay_after_lost_aggregate_update_counts_each_step_once() -> None:
    """Crash between the two changelog writes: referral steps stored, aggregate not."""
    events = [
        fact("r1", "offered", 0.0),
        fact("r1", "accepted", 30.0),
        fact("r1", "won", 90.0, amount="5.00", currency="USD"),
    ]
    whole = Pipeline()
    whole.feed(*events)
    crashed = Pipeline()
    crashed.feed(events[0])
    saved = dict(crashed.aggs)
    crashed.feed(*events[1:])
    crashed.aggs = saved  # the aggregate writes of the last two inputs were lost
    crashed.seq = 2
    crashed.feed(*events[1:])  # re-delivered at the same positions
    assert crashed.card("storix") == whole.card("storix")
    assert crashed.card("netco") == whole.card("netco")


def test_replay_after_lost_referral_update_counts_each_step_once() -> None:
    """The other crash: aggregate stored, referral step not; then a later duplicate arrives."""
    events = [fact("r1", "offered", 0.0), fact("r1", "accepted", 30.0)]
    whole = Pipeline()
    whole.feed(*events)
    crashed = Pipeline()
    crashed.feed(events[0])
    saved = dict(crashed.refs)
    crashed.feed(events[1])
    crashed.refs = saved
    crashed.seq = 2
    crashed.feed(events[1])  # replayed at the same positions
    crashed.feed(events[1])  # and a plain duplicate later
    assert crashed.card("storix") == whole.card("storix")


def test_state_survives_its_json_form() -> None:
    p = Pipeline()
    p.feed(fact("r1", "offered", 0.0), fact("r1", "won", 9.0, amount="1.00", currency="USD"))
    for agg in p.aggs.values():
        assert aggregate_from_json(aggregate_to_json(agg)) == agg
    for ref in p.refs.values():
        assert ref_from_json(ref_to_json(ref)) == ref


def test_snapshot_records_are_bus_events() -> None:
    p = Pipeline()
    p.feed(fact("r1", "offered", 1.5), fact("r1", "won", 99.25, amount="7.00", currency="USD"))
    value, headers = snapshot_record(p.agg("storix"))
    envelope = decode(value, headers)
    assert envelope.event == PartnerScorecard.model_validate(p.card("storix"))
    assert envelope.type == "io.oppbus.partner.stats.v1"
    assert envelope.time.timestamp() == 99.25
    assert event_key(envelope.event) == b"storix"
    assert snapshot_record(p.agg("storix")) == (value, headers)  # a re-publish is the same record


def test_an_untouched_partner_has_an_all_zero_scorecard() -> None:
    empty = empty_scorecard("newco")
    assert empty == PartnerScorecard.model_validate(snapshot(PartnerAggregate("newco")))
    assert empty.received == 0 and empty.acceptance_rate is None and empty.reciprocity == ()


def test_paths_follow_the_lifecycle() -> None:
    assert path(None, "won") == ("offered", "accepted", "won")
    assert path("offered", "withdrawn") == ("withdrawn",)
    assert path("accepted", "withdrawn") == ("withdrawn",)
    assert path("accepted", "declined") is None
    assert path("won", "lost") is None
    assert path("offered", "offered") is None


# --- invariants: order across referrals and re-deliveries never change the figures ---

PARTNERS = ("alpha", "bravo", "charlie", "delta")
LIFECYCLES = (
    ("offered",),
    ("offered", "accepted"),
    ("offered", "declined"),
    ("offered", "expired"),
    ("offered", "withdrawn"),
    ("offered", "accepted", "won"),
    ("offered", "accepted", "lost"),
    ("offered", "accepted", "withdrawn"),
)


@st.composite
def ledgers(draw: st.DrawFn) -> list[list[LedgerFact]]:
    referrals = []
    for i in range(draw(st.integers(1, 12))):
        giver, receiver = draw(st.permutations(PARTNERS))[:2]
        statuses = draw(st.sampled_from(LIFECYCLES))
        start = draw(st.integers(0, 10_000))
        facts = [
            fact(f"r{i}", s, float(start + 7 * n), giver=giver, receiver=receiver,
                 amount="12.34" if s == "won" else None, currency="USD" if s == "won" else None)
            for n, s in enumerate(statuses)
        ]  # fmt: skip
        referrals.append(facts)
    return referrals


def cards(p: Pipeline) -> dict[str, dict]:
    return {name: p.card(name) for name in PARTNERS}


@settings(max_examples=150, deadline=None)
@given(ledger=ledgers(), data=st.data())
def test_interleaving_and_redelivery_do_not_change_figures(ledger, data) -> None:
    reference = Pipeline()
    for facts in ledger:
        reference.feed(*facts)
    queues = [list(facts) for facts in ledger]
    shuffled = Pipeline()
    delivered: list[LedgerFact] = []
    while any(queues):
        pick = data.draw(st.sampled_from([q for q in queues if q]))
        delivered.append(pick.pop(0))
        shuffled.feed(delivered[-1])
        if data.draw(st.booleans()):  # re-deliver something already seen (duplicate / replay)
            shuffled.feed(data.draw(st.sampled_from(delivered)))
    assert cards(shuffled) == cards(reference)
    for card in cards(shuffled).values():
        PartnerScorecard.model_validate(card)
        assert card["open_offers"] >= 0 and card["active"] >= 0
