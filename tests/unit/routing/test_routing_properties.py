"""Hypothesis: the routing invariants over random directories, stats and opportunities.

The oracle below re-derives every rule of DESIGN.md straight from the latest ``PartnerProfile`` of
each partner (no index, no interning), so the directory index, the eligibility code and the linear
scan are all checked against an independent reading of the rules.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.common import region_covers
from schemas.partner import PartnerProfile
from streams.routing import (
    FACTORS,
    PartnerDirectory,
    PartnerStats,
    RoutingStats,
    Weights,
    route,
    route_linear,
)

from .factories import T0, cert, opportunity, profile

NOW = T0 + timedelta(hours=1)
IDS = ("origin", "pa", "pb", "pc", "pd", "pe", "pf", "pg", "ph", "pi", "pj", "pk")
CAPS = ("storage", "backup", "networking", "security", "cloud")
REGIONS = ("US", "US-CA", "US-NY", "DE", "DE-BY")
SERVED = ("US", "US", "US-CA", "US-NY", "DE", "DE-BY")  # sampled: most partners serve all the US
VENDORS = ("NetApp", "Dell")
ALL = Weights(max_ranked=0, pool=0)
PARTNERSHIP = FACTORS.index("partnership")

caps_st = st.lists(st.sampled_from(CAPS), min_size=1, max_size=3, unique=True).map(tuple)
ids_st = st.lists(st.sampled_from(IDS[:4]), min_size=1, max_size=2, unique=True).map(tuple)
rare = st.integers(0, 5).map(lambda n: n == 0)  # true one time in six
expiry_st = st.sampled_from([None, NOW - timedelta(days=1), NOW, NOW + timedelta(days=1)])
# the originator's active partners (any ids: some are not in the directory, or are the originator)
partners_st = st.frozensets(st.sampled_from(IDS), max_size=5)


@st.composite
def profiles(draw: st.DrawFn) -> PartnerProfile:
    caps = draw(caps_st)
    certs = tuple(
        cert(
            c,
            draw(st.sampled_from(VENDORS)),
            draw(expiry_st),
            draw(st.sampled_from(["verified", "verified", "claimed"])),
        )
        for c in caps
        if draw(st.integers(0, 2)) > 0
    )
    return profile(
        draw(st.sampled_from(IDS)),
        caps,
        tuple(draw(st.lists(st.sampled_from(SERVED), min_size=1, max_size=2, unique=True))),
        version=draw(st.integers(0, 3)),
        updated_at=T0 + timedelta(seconds=draw(st.integers(0, 2))),
        certifications=certs,
        accepting=not draw(rare),
        capacity=draw(st.sampled_from([0, 1, 3, 3, 3, 3])),
        competitors=draw(ids_st) if draw(rare) else (),
        refuses=draw(ids_st) if draw(rare) else (),
        industries=draw(st.sampled_from([(), ("healthcare",), ("retail",)])),
        active=not draw(rare),
    )


@st.composite
def opportunities(draw: st.DrawFn):
    needs = tuple(
        draw(st.lists(st.sampled_from(CAPS), min_size=1, max_size=1 + draw(rare), unique=True))
    )
    others = [c for c in CAPS if c not in needs]
    retains = None
    if draw(st.booleans()):
        retains = tuple(draw(st.lists(st.sampled_from(others), max_size=2, unique=True)))
    required = tuple(
        {"vendor": draw(st.sampled_from(VENDORS)).lower(), "capability": n}
        for n in needs
        if draw(rare)
    )
    return opportunity(
        draw(st.sampled_from(IDS[:3])),
        needs,
        draw(st.sampled_from(("US-CA", "US-CA", *REGIONS))),
        opportunity_id=f"opp-{draw(st.integers(0, 5))}",
        retains=retains,
        share_with=tuple(draw(st.lists(st.sampled_from(IDS), max_size=5, unique=True)))
        if draw(rare)
        else None,
        requires_certification=required,
        industry=draw(st.sampled_from(["healthcare", "retail"])),
    )


stats_st = st.builds(
    lambda opens, pairs: RoutingStats(
        {
            pid: PartnerStats(offers_received=9, accepted=n, declined=1, open_offers=n)
            for pid, n in opens.items()
        },
        pairs,
    ),
    st.dictionaries(st.sampled_from(IDS), st.sampled_from([0, 0, 1, 2, 3])),
    st.dictionaries(
        st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)), st.integers(0, 5), max_size=4
    ),
)


def _latest(updates: list[PartnerProfile]) -> dict[str, PartnerProfile]:
    latest: dict[str, PartnerProfile] = {}
    for p in updates:
        cur = latest.get(p.partner_id)
        if cur is None or (p.version, p.updated_at) > (cur.version, cur.updated_at):
            latest[p.partner_id] = p
    return {pid: p for pid, p in latest.items() if p.active}


def _oracle(opp, latest, stats, exclude) -> set[str]:
    origin = latest.get(opp.originator)
    if opp.retains is not None:
        retained = set(opp.retains)
    else:
        retained = set(origin.capabilities) - set(opp.needs) if origin else set()
    eligible = set()
    for pid, p in latest.items():
        ok = (
            pid != opp.originator
            and set(opp.needs) <= set(p.capabilities)
            and any(region_covers(r, opp.region) for r in p.regions)
            and all(
                any(
                    c.capability == req.capability
                    and c.vendor.lower() == req.vendor.lower()
                    and (c.expires_at is None or c.expires_at > NOW)
                    and c.status == "verified"  # a claimed certification never satisfies
                    for c in p.certifications
                )
                for req in opp.requires_certification
            )
            and not retained & set(p.capabilities)
            and opp.originator not in p.competitors + p.refuses
            and (origin is None or pid not in origin.competitors + origin.refuses)
            and p.accepting
            and stats.partner(pid).open_offers < p.capacity
            and (opp.share_with is None or pid in opp.share_with)
            and pid not in exclude
        )
        if ok:
            eligible.add(pid)
    return eligible


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    updates=st.lists(profiles(), min_size=8, max_size=30),
    opp=opportunities(),
    stats=stats_st,
    exclude=st.frozensets(st.sampled_from(IDS), max_size=1),
    partners=partners_st,
)
def test_route_offers_exactly_the_eligible_partners(updates, opp, stats, exclude, partners) -> None:
    d = PartnerDirectory()
    for p in updates:
        d.apply(p)
    decision = route(opp, d, stats, now=NOW, exclude=exclude, weights=ALL, partners=partners)
    expected = _oracle(opp, _latest(updates), stats, exclude)  # a partnership makes none eligible

    # every invariant of DESIGN.md holds for every offered partner, and nobody eligible is missed
    assert set(decision.partner_ids) == expected
    assert decision.eligible == len(expected)
    assert opp.originator not in decision.partner_ids
    # when somebody is eligible the result is not empty; when nobody is, it says why
    assert decision.routable == bool(expected)
    assert sum(decision.exclusions.values()) >= decision.covering - decision.eligible
    # ranked best first, ranks 1..n, scores in [0, 1], one reason per factor
    scores = [c.score for c in decision.candidates]
    assert scores == sorted(scores, reverse=True)
    assert [c.rank for c in decision.candidates] == list(range(1, len(scores) + 1))
    assert all(
        0.0 <= s <= 1.0 and len(c.reasons) == len(FACTORS)
        for s, c in zip(scores, decision.candidates, strict=True)
    )
    # the partnership factor is 1 exactly for the originator's active partners
    assert all(
        c.values[PARTNERSHIP] == (1.0 if c.partner_id in partners else 0.0)
        for c in decision.candidates
    )
    # the index finds exactly what a scan of every partner finds, and the same input gives the
    # same output (also from a directory rebuilt from the same updates)
    linear = route_linear(opp, d, stats, now=NOW, exclude=exclude, weights=ALL, partners=partners)
    assert linear == decision
    rebuilt = PartnerDirectory()
    for p in updates:
        rebuilt.apply(p)
    again = route(opp, rebuilt, stats, now=NOW, exclude=exclude, weights=ALL, partners=partners)
    assert again == decision


@settings(max_examples=100, deadline=None)
@given(
    updates=st.lists(profiles(), min_size=1, max_size=14),
    opp=opportunities(),
    k=st.integers(1, 3),
    partners=partners_st,
)
def test_max_ranked_keeps_the_best_prefix(updates, opp, k, partners) -> None:
    d = PartnerDirectory()
    for p in updates:
        d.apply(p)
    everyone = route(opp, d, now=NOW, weights=ALL, partners=partners)
    top = route(opp, d, now=NOW, weights=Weights(max_ranked=k), partners=partners)
    assert top.candidates == everyone.candidates[:k]
    if top.complete:
        assert top.eligible == everyone.eligible and top.exclusions == everyone.exclusions
    else:  # stopped early, or read the certified partners only: counts of those examined
        assert min(k, len(everyone.candidates)) <= top.eligible <= everyone.eligible


class LiveStats:
    """A mutable stats view that reports its changes, like the scorecard book."""

    def __init__(self) -> None:
        self.partners: dict[str, PartnerStats] = {}
        self.pairs: dict[tuple[str, str], int] = {}
        self.log: list[str] = []

    def partner(self, partner_id: str) -> PartnerStats:
        return self.partners.get(partner_id, PartnerStats())

    def given(self, giver: str, receiver: str) -> int:
        return self.pairs.get((giver, receiver), 0)

    def peers(self, partner_id: str) -> set[str]:
        return {b if a == partner_id else a for (a, b), n in self.pairs.items() if n} - {
            partner_id
        } | ({partner_id} if self.pairs.get((partner_id, partner_id)) else set())

    def changes_since(self, revision: int) -> tuple[int, list[str]]:
        return len(self.log), self.log[revision:]

    def set(self, partner_id: str, stats: PartnerStats) -> None:
        self.partners[partner_id] = stats
        self.log.append(partner_id)


partner_stats_st = st.builds(
    lambda acc, dec, won, opened, mean: PartnerStats(
        offers_received=acc + dec,
        accepted=acc,
        declined=dec,
        won=min(won, acc),
        open_offers=opened,
        mean_s_to_accept=mean if acc else None,
    ),
    st.integers(0, 6),
    st.integers(0, 6),
    st.integers(0, 6),
    st.sampled_from([0, 0, 1, 2, 3]),
    st.sampled_from([60.0, 3600.0, 86_400.0]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    updates=st.lists(profiles(), min_size=4, max_size=30),
    later=st.lists(profiles(), max_size=8),
    opps=st.lists(opportunities(), min_size=1, max_size=3),
    changes=st.lists(st.tuples(st.sampled_from(IDS), partner_stats_st), max_size=12),
    pairs=st.dictionaries(
        st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)), st.integers(0, 5), max_size=4
    ),
    exclude=st.frozensets(st.sampled_from(IDS), max_size=2),
    k=st.sampled_from([1, 2, 3, 25]),
    partners=partners_st,
)
def test_route_ranks_exactly_like_the_linear_scan(
    updates, later, opps, changes, pairs, exclude, k, partners
) -> None:
    """The same candidates, order and scores as a scan of every partner, while the directory
    and the stats change under a directory that keeps its index between calls (and with the
    originator's active partnerships: the partnership factor)."""
    d = PartnerDirectory()
    stats = LiveStats()
    stats.pairs.update(pairs)
    weights = Weights(max_ranked=k)
    for p in updates:
        d.apply(p)
    half = len(changes) // 2
    for step, (profiles_now, stats_now) in enumerate(
        ((later, changes[:half]), ((), changes[half:]))
    ):
        for p in profiles_now:
            d.apply(p)
        for pid, s in stats_now:
            stats.set(pid, s)
        for opp in opps:
            fast = route(
                opp, d, stats, now=NOW, exclude=exclude, weights=weights, partners=partners
            )
            slow = route_linear(
                opp, d, stats, now=NOW, exclude=exclude, weights=weights, partners=partners
            )
            assert fast.candidates == slow.candidates, step
            assert [c.reasons for c in fast.candidates] == [c.reasons for c in slow.candidates]
            if fast.complete:
                assert fast == slow
            for c in fast.candidates:  # the explanation adds up to the score
                assert abs(sum(r.contribution for r in c.reasons) - c.score) <= 1e-5
