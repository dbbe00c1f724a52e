"""The shared replay guards decide per slot in log order: every process agrees on the winner."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from connectors.http.guards import (
    EXPIRED_GRACE,
    GuardTable,
    SharedGuards,
    SharedIdempotency,
    slot_of,
)
from connectors.http.publisher import Published
from schemas.guards import GuardRecord

T0 = datetime(2026, 12, 1, tzinfo=UTC)
SLOT = slot_of("idempotency", "nw POST /v1/opportunities", "k")


def _rec(claim: str, state: str = "claimed", at: int = 0, ttl: int = 60) -> GuardRecord:
    return GuardRecord(
        slot=SLOT,
        guard="idempotency",
        claim_id=claim * 32,
        state=state,  # type: ignore[arg-type]
        at=T0 + timedelta(seconds=at),
        expires_at=T0 + timedelta(seconds=at + ttl),
    )


def test_the_first_live_claim_wins_and_only_its_answers_count() -> None:
    table = GuardTable()
    for record in (_rec("a"), _rec("b", at=1), _rec("b", "done", at=2, ttl=999)):
        table.apply(record)
    winner = table.live(SLOT, T0 + timedelta(seconds=3))
    assert winner is not None and winner.claim_id == "a" * 32 and winner.state == "claimed"
    table.apply(_rec("a", "done", at=3, ttl=999))
    assert table.live(SLOT, T0 + timedelta(seconds=500)).state == "done"  # type: ignore[union-attr]


def test_a_released_or_expired_slot_is_free_again() -> None:
    table = GuardTable()
    table.apply(_rec("a"))
    table.apply(_rec("a", "released", at=1, ttl=0))
    assert table.live(SLOT, T0 + timedelta(seconds=1)) is None
    table.apply(_rec("b", at=2))
    assert table.live(SLOT, T0 + timedelta(seconds=3)).claim_id == "b" * 32  # type: ignore[union-attr]
    assert table.live(SLOT, T0 + timedelta(seconds=62)) is None  # b's process died: expired
    table.apply(_rec("c", at=70))
    assert table.live(SLOT, T0 + timedelta(seconds=71)).claim_id == "c" * 32  # type: ignore[union-attr]


def test_slots_do_not_reveal_the_key_and_differ_per_scope() -> None:
    slot = slot_of("idempotency", "nw POST /v1/opportunities", "crm-retry-7")
    assert len(slot) == 64 and "crm-retry" not in slot
    assert slot_of("idempotency", "a", "k") != slot_of("idempotency", "b", "k")
    assert slot_of("crm", "x") != slot_of("idempotency", "x")


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["claimed", "done", "released"]),
                          st.integers(0, 200)), max_size=12))  # fmt: skip
def test_two_readers_of_the_same_log_agree(steps: list[tuple[str, str, int]]) -> None:
    records = [_rec(c, s, at) for c, s, at in sorted(steps, key=lambda x: x[2])]
    first, second = GuardTable(), GuardTable()
    for record in records:
        first.apply(record)
    for record in records:
        second.apply(record)
    now = T0 + timedelta(seconds=100)
    assert first.live(SLOT, now) == second.live(SLOT, now)


class _Log:
    """One shared log, two processes' read models that lag behind it until they wait."""

    def __init__(self) -> None:
        self.records: list[GuardRecord] = []
        self.read = {"a": 0, "b": 0}
        self.tables = {"a": GuardTable(), "b": GuardTable()}

    def catch_up(self, who: str, upto: int) -> None:
        while self.read[who] < upto:
            self.tables[who].apply(self.records[self.read[who]])
            self.read[who] += 1

    def guards(self, who: str) -> SharedGuards:
        async def publish(record: GuardRecord) -> Published:
            self.records.append(record)
            return Published("api-guards", 0, len(self.records) - 1, "e")

        async def visible(at: Published) -> None:
            self.catch_up(who, at.offset + 1)

        return SharedGuards(self.tables[who], publish, visible)


def test_a_retry_at_a_process_that_saw_the_claim_but_not_yet_the_answer_is_a_replay() -> None:
    """Regression (CI): B had read A's claim but not A's ``done`` and answered 409 "in use"."""

    async def scenario() -> web.Response:
        log = _Log()
        a = SharedIdempotency(log.guards("a"))
        b = SharedIdempotency(log.guards("b"))

        async def handler() -> web.Response:
            return web.json_response({"status": "accepted"}, status=202)

        assert (await a.run("nw", "k", "fp", handler)).status == 202
        log.catch_up("b", 1)  # B's read model: the claim, not yet the answer
        return await b.run("nw", "k", "fp", handler)

    again = asyncio.run(scenario())
    assert again.status == 202 and again.headers.get("Idempotent-Replayed") == "true"


def _slot_rec(slot: str, claim: str, at: int, ttl: int, state: str = "claimed") -> GuardRecord:
    return _rec(claim, state, at=at, ttl=ttl).model_copy(update={"slot": slot})


def test_expired_slots_are_forgotten_by_the_logs_clock_and_answers_do_not_change() -> None:
    """A long-running API does not keep every Idempotency-Key it ever saw: a slot expired more
    than the grace before the latest record is dropped, and every answer stays what a table
    that never forgets would give (``live`` ignored expired records anyway)."""
    table, forever = GuardTable(), _Unbounded()
    grace = int(EXPIRED_GRACE.total_seconds())
    for i in range(200):  # one guarded request per second, each held for 60 s
        record = _slot_rec(f"s{i}", "a", at=i, ttl=60)
        table.apply(record)
        forever.apply(record)
    assert len(table) == 200  # nothing expired beyond the grace yet
    late = _slot_rec("late", "b", at=200 + 60 + grace, ttl=60)
    table.apply(late)
    forever.apply(late)
    assert len(table) == 1  # only the live one left
    now = T0 + timedelta(seconds=200 + 60 + grace + 1)
    for i in [*range(200), "late"]:
        slot = f"s{i}" if isinstance(i, int) else "late"
        assert table.live(slot, now) == forever.live(slot, now)


class _Unbounded(GuardTable):
    def _expire(self, cutoff: datetime) -> None:  # never forgets: the reference
        return None


@given(st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from(["claimed", "done", "released"]),
                          st.integers(0, 2_000), st.integers(0, 900)), max_size=40))  # fmt: skip
def test_forgetting_never_changes_a_decision(steps: list[tuple[str, str, int, int]]) -> None:
    """Fed the same log (times increasing, as the API writes them), the bounded table and one
    that never forgets answer alike at every point — given that a claim's answer is written
    within the grace after the claim expired (a request runs at most its claim's ttl; a process
    that hung longer has long been given up on, and its late answer is not kept)."""
    table, forever = GuardTable(), _Unbounded()
    at, claimed_until = 0, {}
    grace = int(EXPIRED_GRACE.total_seconds())
    for claim, state, step, ttl in steps:
        at += step
        if state == "claimed":
            claimed_until[claim] = at + ttl
        elif at > claimed_until.get(claim, at) + grace:
            continue  # an answer later than the protocol writes one
        record = _rec(claim, state, at=at, ttl=ttl)
        table.apply(record)
        forever.apply(record)
        now = T0 + timedelta(seconds=at)
        assert table.live(SLOT, now) == forever.live(SLOT, now)
