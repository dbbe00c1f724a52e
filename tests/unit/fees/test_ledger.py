"""The fee ledger of one referral: one net fee per won referral, whatever is redelivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from schemas.terms import Terms
from streams.fees.ledger import OutcomeSeen, fold, missing, plan, settle

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TERMS = Terms.model_validate({"referral_fee": {"percent": "10"}, "approval_days": 30, "version": 3})


def won(eid: str, amount: str, days: float = 0) -> OutcomeSeen:
    return OutcomeSeen(eid, "won", T0 + timedelta(days=days), Decimal(amount), "EUR")


def lost(eid: str, days: float = 0) -> OutcomeSeen:
    return OutcomeSeen(eid, "lost", T0 + timedelta(days=days))


def run(*outcomes: OutcomeSeen, now_days: float = 1, terms: Terms | None = TERMS):  # type: ignore[no-untyped-def]
    return plan(
        referral_id="ref_1",
        payer="contoso",
        payee="northwind",
        terms=terms,
        outcomes=outcomes,
        now=T0 + timedelta(days=now_days),
    )


def test_a_win_accrues_one_pending_fee_for_the_sharing_partner() -> None:
    p = run(won("e1", "120000.00"))
    (fee,) = fold(p.events).values()
    assert (fee.payer, fee.payee, fee.amount, fee.currency) == (
        "contoso",
        "northwind",
        Decimal("12000.00"),
        "EUR",
    )
    assert fee.status == "pending" and fee.terms_version == 3
    assert fee.approve_at == T0 + timedelta(days=30)


def test_the_fee_is_approved_when_the_window_has_passed_in_event_time() -> None:
    assert [e.kind for e in run(won("e1", "100"), now_days=29.9).events] == ["accrued"]
    p = run(won("e1", "100"), now_days=30)
    assert [e.kind for e in p.events] == ["accrued", "approved"]
    assert p.events[1].at == T0 + timedelta(days=30)  # the window's end, not the clock


def test_a_correction_inside_the_window_reverses_and_accrues_again() -> None:
    p = run(won("e1", "100"), won("e2", "80", days=3))
    assert [e.kind for e in p.events] == ["accrued", "reversed", "accrued"]
    fees = fold(p.events)
    standing = [f for f in fees.values() if f.status != "reversed"]
    assert [f.amount for f in standing] == [Decimal("8.00")]
    assert standing[0].approve_at == T0 + timedelta(days=30)  # the first win's window


def test_lost_inside_the_window_reverses_and_after_it_is_too_late() -> None:
    p = run(won("e1", "100"), lost("e2", days=2))
    assert [e.kind for e in p.events] == ["accrued", "reversed"]
    late = run(won("e1", "100"), lost("e2", days=31), now_days=40)
    assert [e.kind for e in late.events] == ["accrued", "approved"]
    assert [o.event_id for o in late.too_late] == ["e2"]


def test_no_terms_no_fee_and_the_reason_is_kept() -> None:
    p = run(won("e1", "100"), terms=None)
    assert p.events == () and p.no_fee == ("no terms with a fee on this referral",)


def test_settling_only_by_the_payee_once_approved_and_idempotently() -> None:
    pending = next(iter(fold(run(won("e1", "100")).events).values()))
    assert "cannot be settled" in str(settle(pending, by="northwind", reference="r", at=T0))
    approved_events = run(won("e1", "100"), now_days=31).events
    approved = next(iter(fold(approved_events).values()))
    assert settle(approved, by="contoso", reference="r", at=T0) == "only the payee can settle a fee"
    settled = settle(approved, by="northwind", reference="INV-7", at=T0 + timedelta(days=32))
    assert not isinstance(settled, str)
    after = next(iter(fold([*approved_events, settled]).values()))
    assert after.status == "settled" and after.reference == "INV-7"
    again = settle(after, by="northwind", reference="INV-7", at=T0 + timedelta(days=40))
    assert again == settled  # the same event: appending it again changes nothing
    assert "another reference" in str(settle(after, by="northwind", reference="X", at=T0))


outcome_lists = st.lists(
    st.tuples(
        st.sampled_from(["won", "lost"]),
        st.sampled_from(["0.00", "100.00", "80.00", "5000.00"]),
        st.floats(0, 45),
    ),
    max_size=6,
).map(
    lambda xs: [
        won(f"e{i}", amount, days) if kind == "won" else lost(f"e{i}", days)
        for i, (kind, amount, days) in enumerate(sorted(xs, key=lambda x: x[2]))
    ]
)


@given(outcome_lists, st.integers(0, 3), st.floats(0, 60))
def test_redelivery_replay_and_crashes_never_add_a_second_fee(
    outcomes: list[OutcomeSeen], repeats: int, now_days: float
) -> None:
    once = run(*outcomes, now_days=now_days)
    # redelivered: every outcome seen again right after itself, `repeats` times
    redelivered = [o for o in outcomes for _ in range(repeats + 1)]
    assert run(*redelivered, now_days=now_days).events == once.events
    # crashed half-way and replayed from the start: only the missing events are appended
    recorded = [e.event_id for e in once.events[: len(once.events) // 2]]
    appended = missing(run(*outcomes, now_days=now_days).events, recorded)
    assert [e.event_id for e in appended] == [e.event_id for e in once.events[len(recorded) :]]
    # at most one fee stands, and every event id is unique
    fees = fold(once.events)
    assert sum(f.status != "reversed" for f in fees.values()) <= 1
    assert len({e.event_id for e in once.events}) == len(once.events)
    # the standing fee is the last won outcome inside the window (if any accrued)
    window_end = next((o.at for o in outcomes if o.kind == "won"), None)
    if window_end is not None:
        window_end += timedelta(days=30)
        inside = [o for o in outcomes if o.at <= window_end]
        last = inside[-1]
        standing = [f for f in fees.values() if f.status != "reversed"]
        if last.kind == "lost" or last.amount == Decimal("0.00"):
            assert standing == []
        else:
            assert [f.amount for f in standing] == [last.amount / 10]  # type: ignore[operator]
