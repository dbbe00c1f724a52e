"""From ledger events to funnel metrics and the status board, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from ops.funnel import FunnelRecorder, _Bounded, primary_rule
from ops.status_board import StatusBoard
from schemas.codec import Envelope, decode, encode
from schemas.fees import FeeRecorded
from schemas.ids import referral_id
from schemas.samples import example, examples
from streams.metrics import ReferralMetrics

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
P = "io.oppbus."


def env(ce_type: str, n: int = 0, **update) -> Envelope:
    event = example(P + ce_type).model_copy(update=update)
    return Envelope(id=f"{ce_type}-{n}", source="urn:test", type=P + ce_type, time=T0, event=event)


def ref(partner: str) -> str:
    return referral_id("northwind-networks", "nw-2026-0042", partner)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def recorder(registry) -> FunnelRecorder:
    board = StatusBoard(clock=lambda: (T0 + timedelta(minutes=10)).timestamp())
    return FunnelRecorder(ReferralMetrics(registry), board)


def story(at: datetime = T0) -> list[Envelope]:
    """Published; offered to A, declined; re-offered to B, accepted after 30 min, won."""
    a, b = ref("contoso-storage"), ref("fabrikam-storage")
    return [
        env("opportunity.published.v1", published_at=at),
        env("referral.offered.v1", referral_id=a, offered_at=at + timedelta(seconds=2), round=1),
        env("referral.declined.v1", referral_id=a, reason="no_capacity", declined_at=at),
        env(
            "referral.offered.v1",
            1,
            referral_id=b,
            partner_id="fabrikam-storage",
            offered_at=at + timedelta(minutes=1),
            round=2,
        ),
        env(
            "referral.accepted.v1",
            referral_id=b,
            partner_id="fabrikam-storage",
            accepted_at=at + timedelta(minutes=31),
        ),
        env(
            "referral.won.v1",
            referral_id=b,
            partner_id="fabrikam-storage",
            won_at=at + timedelta(minutes=40),
        ),
    ]


def get(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_story_drives_every_funnel_metric(recorder, registry):
    for e in story():
        recorder.record(e)
    assert get(registry, "oppbus_opportunities_published_total") == 1
    assert get(registry, "oppbus_offers_sent_total", round="1") == 1
    assert get(registry, "oppbus_offers_sent_total", round="2") == 1
    assert get(registry, "oppbus_offers_reoffered_total") == 1
    assert get(registry, "oppbus_offers_declined_total", reason="no_capacity") == 1
    assert get(registry, "oppbus_offers_accepted_total") == 1
    assert get(registry, "oppbus_referrals_won_total") == 1
    won = example(P + "referral.won.v1").amount  # type: ignore[attr-defined]
    assert get(registry, "oppbus_revenue_won_total", currency=won.currency) == float(won.amount)
    assert get(registry, "oppbus_publish_to_offer_seconds_sum") == 2.0
    assert get(registry, "oppbus_time_to_accept_seconds_sum") == 30 * 60


def test_replayed_ledger_counts_once(recorder, registry):
    for e in story() + story():
        recorder.record(e)
    assert get(registry, "oppbus_opportunities_published_total") == 1
    assert get(registry, "oppbus_offers_accepted_total") == 1
    assert get(registry, "oppbus_referrals_won_total") == 1
    assert get(registry, "oppbus_publish_to_offer_seconds_count") == 1
    assert recorder.board.summary()["funnel"]["offered"] == 2


def test_offer_read_before_its_opportunity_still_measures_latency(recorder, registry):
    published, offered = story()[:2]
    recorder.record(offered)
    recorder.record(published)
    assert get(registry, "oppbus_publish_to_offer_seconds_sum") == 2.0


def test_board_summary_has_funnel_rates_and_series(recorder):
    for e in story():
        recorder.record(e)
    summary = recorder.board.summary()
    assert summary["funnel"]["published"] == 1
    assert summary["funnel"]["offered"] == 2
    assert summary["funnel"]["won"] == 1
    assert summary["rates"] == {"acceptance": 0.5, "win": 1.0}
    assert summary["declines"] == [{"reason": "no_capacity", "count": 1}]
    points = summary["series"]["points"]
    assert 1 < len(points) <= 60
    assert sum(p["offered"] for p in points) == 2
    assert sum(p["accepted"] for p in points) == 1


def test_unroutable_is_attributed_to_the_rule_that_excluded_most(recorder, registry):
    e = env("opportunity.unroutable.v1", candidates=5, excluded={"competing": 3, "refused": 2})
    assert primary_rule(e.event) == "competing"  # type: ignore[arg-type]
    recorder.record(e)
    recorder.record(e)
    empty = env("opportunity.unroutable.v1", 1, candidates=0, excluded={}, opportunity_id="x-1")
    recorder.record(empty)
    assert get(registry, "oppbus_opportunities_unroutable_total", rule="competing") == 1
    assert get(registry, "oppbus_opportunities_unroutable_total", rule="no_candidates") == 1
    assert recorder.board.summary()["unroutable"][0] == {"rule": "competing", "count": 1}


def test_dead_letters_are_counted_once_and_shown_without_payload(recorder, registry):
    dead = env("deadletter.recorded.v1", reason="schema", offset=17, consumer="router")
    recorder.record(dead)
    recorder.record(dead)
    recorder.record(env("deadletter.recorded.v1", 1, reason="a stack trace", offset=18))
    assert get(registry, "oppbus_dead_letters_total", reason="schema") == 1
    assert get(registry, "oppbus_dead_letters_total", reason="other") == 1
    summary = recorder.board.summary()["dead_letters"]
    assert summary["total"] == 2
    newest, oldest = summary["recent"]
    assert (oldest["reason"], oldest["offset"], oldest["consumer"]) == ("schema", 17, "router")
    assert newest["reason"] == "other"
    assert set(oldest) == {
        "at",
        "reason",
        "topic",
        "partition",
        "offset",
        "event_type",
        "consumer",
    }


def test_conflict_and_withdrawal_and_expiry(recorder, registry):
    recorder.record(env("opportunity.conflict-flagged.v1"))
    recorder.record(env("referral.expired.v1"))
    recorder.record(env("referral.withdrawn.v1"))
    recorder.record(env("referral.lost.v1"))
    assert get(registry, "oppbus_conflicts_flagged_total") == 1
    assert get(registry, "oppbus_offers_expired_total") == 1
    assert get(registry, "oppbus_referrals_withdrawn_total") == 1
    lost = example(P + "referral.lost.v1").reason  # type: ignore[attr-defined]
    assert get(registry, "oppbus_referrals_lost_total", reason=lost) == 1


def test_events_outside_the_funnel_are_ignored(recorder, registry):
    recorder.record(env("partner.updated.v1"))
    recorder.record(env("lead.revealed.v1"))
    assert recorder.board.summary()["funnel"] == dict.fromkeys(
        recorder.board.summary()["funnel"], 0
    )


def test_board_forgets_buckets_older_than_retention():
    now = T0.timestamp()
    board = StatusBoard(bucket_s=10, retention_s=100, clock=lambda: now)
    board.count("offered", T0 - timedelta(seconds=500))
    board.count("offered", T0 - timedelta(seconds=50))
    summary = board.summary()
    assert summary["funnel"]["offered"] == 2
    assert sum(p["offered"] for p in summary["series"]["points"]) == 1
    with pytest.raises(ValueError):
        board.count("nonsense", T0)


def test_series_coarsens_buckets_to_at_most_sixty_points():
    now = T0.timestamp()
    board = StatusBoard(clock=lambda: now)
    for minutes in range(0, 600, 7):
        board.count("published", T0 - timedelta(minutes=minutes))
    series = board.series()
    assert series["bucket_s"] in (900, 3600)
    assert len(series["points"]) <= 60
    assert sum(p["published"] for p in series["points"]) == len(range(0, 600, 7))


def test_fee_events_are_counted_once_each_by_kind_with_their_amounts() -> None:
    sample = examples()["io.oppbus.fee.recorded.v1"].event
    assert isinstance(sample, FeeRecorded)
    board = StatusBoard()
    recorder = FunnelRecorder(ReferralMetrics(CollectorRegistry()), board)
    accrued = sample.model_copy(update={"kind": "accrued", "event_id": sample.fee_id + ".accrued"})
    for event in (accrued, accrued, sample):  # the accrual delivered twice
        enc = encode(event, source="test")
        recorder.record(decode(enc.value, enc.headers))
    fees = board.summary()["fees"]
    assert fees["accrued"] == {"count": 1, "amounts": {"USD": "25000.00"}}
    assert fees["settled"] == {"count": 1, "amounts": {"USD": "25000.00"}}
    assert fees["approved"]["count"] == 0 and fees["reversed"]["amounts"] == {}


def test_team_steps_are_counted_once_per_opportunity_with_bounded_labels(recorder, registry):
    recorder.record(env("team.planned.v1"))
    recorder.record(env("team.planned.v1", 1))  # redelivered
    recorder.record(env("team.planned.v1", 2, round=2))
    recorder.record(env("team.assembled.v1"))
    recorder.record(env("team.incomplete.v1", opportunity_id="other"))
    for step in ("planned", "replanned", "assembled", "incomplete"):
        assert get(registry, "oppbus_teams_total", step=step) == 1
    labels = {
        tuple(sorted(s.labels))
        for family in registry.collect()
        for s in family.samples
        if s.name == "oppbus_teams_total"
    }
    assert labels == {("step",)}  # never a partner or an opportunity


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=300), st.integers(1, 20))
def test_the_funnel_memory_keeps_the_last_limit_keys_and_at_most_twice_that(keys, limit) -> None:
    memory = _Bounded(limit)
    fresh: list[int] = []  # keys added, newest last, each once since it was last forgotten
    for key in keys:
        known = key in memory
        added = memory.add(key)
        assert added is not known  # a key is counted once while it is remembered
        if added:
            fresh.append(key)
        assert len(memory) <= 2 * limit
        for recent in fresh[-limit:]:  # the last `limit` keys added are all remembered
            assert recent in memory


def test_the_funnel_memory_keeps_values_and_pops_them_once() -> None:
    memory = _Bounded(2)
    assert memory.add("a", T0) and memory.add("b") and memory.add("c", T0 + timedelta(seconds=1))
    assert memory.pop("a") == T0 and memory.pop("a") is None
    assert memory.pop("c") == T0 + timedelta(seconds=1)
    assert "b" in memory and memory.add("d") and memory.add("e") and "b" in memory
    assert memory.add("f") and "b" not in memory and all(k in memory for k in "def")
