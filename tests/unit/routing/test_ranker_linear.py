"""The router's ranker scans a small directory partner by partner: the same offers as the index."""

from __future__ import annotations

from ops.bench import routing_data as data
from streams.router.ranker import LINEAR_MAX, make_ranker
from streams.routing import PartnerDirectory, route

NOW = data.NOW.timestamp()


def _directory(n: int, seed: int) -> PartnerDirectory:
    d = PartnerDirectory()
    for p in data.profiles(n, seed=seed):
        d.apply(p)
    return d


def test_a_small_directory_is_ranked_like_the_index() -> None:
    routed = 0
    for n, seed in ((40, 1), (LINEAR_MAX, 2)):
        d = _directory(n, seed)
        stats = data.stats(n)
        linear = make_ranker(lambda d=d: d, lambda s=stats: s)
        indexed = make_ranker(lambda d=d: d, lambda s=stats: s, linear_max=0)
        for opp in data.opportunities(60, n):
            tried = frozenset(c.partner_id for c in indexed(opp, frozenset(), NOW).candidates[:1])
            for exclude in (frozenset(), tried):
                a, b = linear(opp, exclude, NOW), indexed(opp, exclude, NOW)
                assert a.candidates == b.candidates  # ids, order, scores and reasons
                assert a.considered >= b.considered  # every covering partner was examined
                routed += bool(a.candidates)
    assert routed > 20  # the comparison covers routed opportunities, not only unroutable ones


def test_a_larger_directory_keeps_the_index(monkeypatch) -> None:
    calls: list[int] = []

    def counting(*args, **kwargs):
        calls.append(1)
        return route(*args, **kwargs)

    monkeypatch.setattr("streams.router.ranker.route", counting)
    d = _directory(LINEAR_MAX + 1, 3)
    rank = make_ranker(lambda: d)
    for opp in data.opportunities(5, LINEAR_MAX + 1):
        rank(opp, frozenset(), NOW)
    assert len(calls) == 5
