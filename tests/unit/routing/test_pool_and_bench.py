"""The pooled route over the sharded index: deterministic from content, cheap, and its bench."""

from __future__ import annotations

import orjson

from ops.bench import routing_data as data
from ops.cli import main
from streams.routing import PartnerDirectory, Weights, route, route_linear

POOL = Weights(pool=4)


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
        a = route(opp, first, stats, now=data.NOW, weights=POOL)
        b = route(opp, churned, stats, now=data.NOW, weights=POOL)
        assert a == b


def test_pool_stops_early_but_never_misses_routability() -> None:
    d = _directory(data.profiles(600, seed=5))
    stats = data.stats(600)
    stopped = 0
    for opp in data.opportunities(80, 600):
        pooled = route(opp, d, stats, now=data.NOW, weights=POOL)
        exact = route_linear(opp, d, stats, now=data.NOW, weights=POOL)
        assert pooled.routable == exact.routable
        assert set(pooled.partner_ids) <= {
            c.partner_id
            for c in route_linear(
                opp, d, stats, now=data.NOW, weights=Weights(max_ranked=0)
            ).candidates
        }
        stopped += not pooled.complete
        if pooled.complete:
            assert pooled == exact
    assert stopped > 0  # the pool did cut the work short somewhere


def test_generated_profiles_are_valid_and_varied() -> None:
    profiles = list(data.profiles(300))
    assert len({p.partner_id for p in profiles}) == 300
    assert len({r for p in profiles for r in p.regions}) > 30
    assert len({c for p in profiles for c in p.capabilities}) == 15
    assert len(data.REGIONS) == 60 and len(data.CAPABILITIES) == 15


def test_bench_routing_prints_figures_as_one_json_line(capsys) -> None:
    code = main(
        ["bench", "routing", "--json", "--sizes", "150,300", "--opportunities", "40",
         "--linear-opportunities", "20"]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    figures = orjson.loads(captured.out.strip().splitlines()[-1])
    assert figures["bench"] == "routing"
    for key in ("n150_index_p99_us", "n300_linear_p50_us", "n300_index_memory_mb"):
        assert figures[key] > 0
    assert "bench routing:" in captured.err
