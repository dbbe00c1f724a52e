"""The exact route over the tiered index: deterministic from content, stops early, and its bench."""

from __future__ import annotations

import random
from dataclasses import replace

import orjson

from ops.bench import routing_data as data
from ops.cli import main
from streams.routing import (
    PartnerDirectory,
    PartnerStats,
    RoutingStats,
    Weights,
    route,
    route_linear,
    scan,
)

FEW = Weights(max_ranked=3)


def _directory(profiles) -> PartnerDirectory:
    d = PartnerDirectory()
    for p in profiles:
        d.apply(p)
    return d


def test_decision_depends_on_directory_content_not_its_history() -> None:
    profiles = list(data.profiles(400, seed=3))
    first = _directory(profiles)
    churned = PartnerDirectory()
    for p in reversed(profiles):  # another order, with partners leaving and coming back
        churned.apply(p.model_copy(update={"version": 0}))
        churned.apply(
            p.model_copy(
                update={
                    "version": 0,
                    "active": False,
                    "updated_at": p.updated_at.replace(microsecond=1),
                }
            )
        )
    for p in profiles:
        churned.apply(p)
    stats = data.stats(400)
    for opp in data.opportunities(60, 400):
        a = route(opp, first, stats, now=data.NOW, weights=FEW)
        b = route(opp, churned, stats, now=data.NOW, weights=FEW)
        assert a == b


def test_exact_route_stops_early_and_ranks_like_the_scan(monkeypatch) -> None:
    monkeypatch.setattr(scan, "FIRST_BATCH", 8)  # small batches, so a small directory stops early
    d = _directory(data.profiles(3000, seed=5))
    stats = data.stats(3000)
    stopped = 0
    for opp in data.opportunities(80, 3000):
        fast = route(opp, d, stats, now=data.NOW, weights=FEW)
        exact = route_linear(opp, d, stats, now=data.NOW, weights=FEW)
        assert fast.candidates == exact.candidates
        assert fast.eligible <= exact.eligible and fast.covering <= exact.covering
        stopped += not fast.complete
        if fast.complete:
            assert fast == exact
    assert stopped > 0  # the bound did cut the work short somewhere


def test_partners_in_the_lowest_tiers_are_ranked_exactly(monkeypatch) -> None:
    """The originator's partners are examined whatever their tier: the worst-placed eligible
    partners, made partners, are found by the stopping scan exactly where the full scan puts
    them (first, with a heavy partnership weight)."""
    monkeypatch.setattr(scan, "FIRST_BATCH", 8)
    d = _directory(data.profiles(3000, seed=5))
    stats = data.stats(3000)
    ids = data.partner_ids(3000)
    rng = random.Random(2)
    heavy = Weights(max_ranked=3, partnership=8.0)
    promoted = stopped = 0
    for opp in data.opportunities(80, 3000):
        everyone = route_linear(opp, d, stats, now=data.NOW, weights=Weights(max_ranked=0))
        partners = frozenset(everyone.partner_ids[-2:]) | frozenset(rng.sample(ids, 30))
        for weights in (FEW, heavy):
            fast = route(opp, d, stats, now=data.NOW, weights=weights, partners=partners)
            exact = route_linear(opp, d, stats, now=data.NOW, weights=weights, partners=partners)
            assert fast.candidates == exact.candidates
            assert [c.reasons for c in fast.candidates] == [c.reasons for c in exact.candidates]
            if fast.complete:
                assert fast == exact
            stopped += not fast.complete
        if everyone.candidates and not opp.share_with:
            promoted += fast.partner_ids[0] in partners
    assert stopped > 0 and promoted > 20


def test_stats_changes_move_partners_between_tiers_and_keep_the_ranking_exact() -> None:
    d = _directory(data.profiles(1500, seed=9))
    book = _Book(data.stats(1500))
    opps = data.opportunities(30, 1500)
    for round_ in range(3):
        for opp in opps:
            fast = route(opp, d, book, now=data.NOW, weights=FEW)
            assert (
                fast.candidates == route_linear(opp, d, book, now=data.NOW, weights=FEW).candidates
            )
            for c in fast.candidates:  # offered: busier, so less attractive next time
                book.offer(c.partner_id)
        assert round_ < 3


class _Book:
    """Stats that change as offers are made, reporting their changes."""

    def __init__(self, base: RoutingStats) -> None:
        self.base = base
        self.extra: dict[str, int] = {}
        self.log: list[str] = []

    def partner(self, partner_id: str) -> PartnerStats:
        stats = self.base.partner(partner_id)
        return replace(stats, open_offers=stats.open_offers + self.extra.get(partner_id, 0))

    def given(self, giver: str, receiver: str) -> int:
        return self.base.given(giver, receiver)

    def peers(self, partner_id: str):
        return self.base.peers(partner_id)

    def changes_since(self, revision: int):
        return len(self.log), self.log[revision:]

    def offer(self, partner_id: str) -> None:
        self.extra[partner_id] = self.extra.get(partner_id, 0) + 1
        self.log.append(partner_id)


def test_generated_profiles_are_valid_and_varied() -> None:
    profiles = list(data.profiles(300))
    assert len({p.partner_id for p in profiles}) == 300
    assert len({r for p in profiles for r in p.regions}) > 30
    assert len({c for p in profiles for c in p.capabilities}) == 15
    assert len(data.REGIONS) == 60 and len(data.CAPABILITIES) == 15


def test_bench_routing_prints_figures_as_one_json_line(capsys) -> None:
    code = main(
        ["bench", "routing", "--json", "--sizes", "150,300", "--opportunities", "40",
         "--linear-opportunities", "20", "--updates", "50"]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    figures = orjson.loads(captured.out.strip().splitlines()[-1])
    assert figures["bench"] == "routing"
    for key in ("n150_index_p99_us", "n300_linear_p50_us", "update_p99_us", "n300_rss_mb"):
        assert figures[key] > 0
    assert figures["n150_top_score_vs_exact"] == figures["n300_top_score_vs_exact"] == 1.0
    assert figures["n300_partnered_top_score_vs_exact"] == 1.0  # checked against the scan
    assert figures["n300_partnered_index_cpu_p50_us"] > 0
    assert 0 < figures["n300_partnered_first_pct"] <= 100
    assert 0 < figures["busiest_share_tiebreak"] < 0.1  # 100 equally fit partners share offers
    assert "bench routing:" in captured.err


def test_alternating_weights_keep_the_tiers_and_stay_exact() -> None:
    """oppbus replay routes each opportunity under two policies in turn: the other policy's
    ranking reads every tier (no bound) with its own stats factors, and is still exact."""
    d = _directory(data.profiles(1500, seed=4))
    book = _Book(data.stats(1500))
    other = Weights(max_ranked=3, load=6.0, acceptance=0.5, prior=0.3, speed_half_life_s=600.0)
    for opp in data.opportunities(30, 1500):
        for weights in (FEW, other):
            fast = route(opp, d, book, now=data.NOW, weights=weights)
            slow = route_linear(opp, d, book, now=data.NOW, weights=weights)
            assert fast.candidates == slow.candidates
        book.offer(f"p{len(book.log):06d}")
    assert d.sync_stats(book, FEW)  # the tiers are still those of the first weights
    for _ in range(8):  # asked for in a row: a new policy, adopted
        d.sync_stats(book, other)
    assert d.sync_stats(book, other)
