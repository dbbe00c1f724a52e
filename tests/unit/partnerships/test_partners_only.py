"""partners_only: an opportunity offered only to partners with an active partnership with its
originator (DESIGN.md "Partnerships"); a proposed or ended partnership does not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.partnership import Partnership
from schemas.terms import Terms
from streams.partnerships.book import PartnershipBook
from streams.partnerships.machine import Refusal, accept, end, propose
from streams.router.ranker import make_ranker, partners_only_scope
from tests.unit.routing.factories import ORIGIN, T0, directory, opportunity, profile

TEN = Terms.model_validate({"referral_fee": {"percent": "10"}})


def _ok(result: Partnership | Refusal) -> Partnership:
    assert isinstance(result, Partnership), result
    return result


def _book() -> PartnershipBook:
    book = PartnershipBook()
    active = _ok(propose("ps_00000000000000000001", "origin", "partner-a", TEN, T0))
    book.apply(_ok(accept(active, "partner-a", T0 + timedelta(hours=1))))
    book.apply(_ok(propose("ps_00000000000000000002", "origin", "partner-b", TEN, T0)))
    gone = _ok(propose("ps_00000000000000000003", "partner-c", "origin", TEN, T0))
    gone = _ok(accept(gone, "origin", T0 + timedelta(hours=1)))
    book.apply(_ok(end(gone, "partner-c", T0 + timedelta(hours=2))))
    return book


def test_only_active_partnerships_count() -> None:
    assert _book().active_partners("origin") == frozenset({"partner-a"})
    assert _book().active_partners("partner-a") == frozenset({"origin"})


def test_partners_only_narrows_the_consent_scope_and_share_with_narrows_it_further() -> None:
    book = _book()
    opp = opportunity(partners_only=True)
    assert partners_only_scope(opp, book.active_partners).share_with == ("partner-a",)
    narrowed = opportunity(partners_only=True, share_with=("partner-b",))
    assert partners_only_scope(narrowed, book.active_partners).share_with == ()
    plain = opportunity()
    assert partners_only_scope(plain, book.active_partners) is plain


def test_a_partners_only_opportunity_is_offered_to_the_partner_only() -> None:
    d = directory(
        ORIGIN,
        *(profile(p, ("storage",)) for p in ("partner-a", "partner-b", "partner-c", "other")),
    )
    rank = make_ranker(lambda: d, partners_of=_book().active_partners)
    now = (T0 + timedelta(days=1)).timestamp()
    everyone = rank(opportunity(), frozenset(), now)
    assert len(everyone.candidates) >= 1
    only = rank(opportunity(partners_only=True), frozenset(), now)
    assert [c.partner_id for c in only.candidates] == ["partner-a"]
    none = rank(opportunity(partners_only=True, originator="origin"), frozenset({"partner-a"}), now)
    assert none.candidates == [] and none.excluded.get("outside_consent", 0) >= 3


def test_without_partners_an_opportunity_for_partners_only_reaches_nobody() -> None:
    d = directory(ORIGIN, profile("partner-z", ("storage",)))
    rank = make_ranker(lambda: d, partners_of=PartnershipBook().active_partners)
    decision = rank(opportunity(partners_only=True), frozenset(), datetime.now(UTC).timestamp())
    assert decision.candidates == []


def test_the_ranker_ranks_an_active_partner_first_with_the_partnership_reason() -> None:
    """Every opportunity, not only partners_only: the active partner gets the partnership factor;
    a proposed (partner-b) or ended (partner-c) partnership does not."""
    d = directory(
        ORIGIN,
        profile("partner-a", ("storage", "backup", "cloud")),  # the least focused of all
        *(profile(p, ("storage",)) for p in ("partner-b", "partner-c", "other")),
    )
    now = (T0 + timedelta(days=1)).timestamp()
    plain = make_ranker(lambda: d)(opportunity(), frozenset(), now)
    assert plain.candidates[0].partner_id != "partner-a"  # not first on its own merits
    ranked = make_ranker(lambda: d, partners_of=_book().active_partners)(
        opportunity(max_partners=4), frozenset(), now
    )
    assert ranked.candidates[0].partner_id == "partner-a"
    reasons = {c.partner_id: {r["factor"]: r for r in c.reasons} for c in ranked.candidates}
    mine = reasons["partner-a"]["partnership"]
    assert mine["value"] == 1.0 and mine["contribution"] > 0
    assert mine["detail"] == "has an active partnership with the originator"
    assert all(reasons[p]["partnership"]["value"] == 0.0 for p in ("partner-b", "partner-c"))
    for c in ranked.candidates:
        assert abs(sum(r["contribution"] for r in c.reasons) - c.score) <= 1e-5
