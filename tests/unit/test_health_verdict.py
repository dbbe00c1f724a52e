"""/healthz's verdict from the workers' statuses: ready, covering every input partition, fresh."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

from connectors.http.health import STALE_INTERVALS, WorkerBook, routing_verdict
from schemas.codec import encode
from schemas.health import WorkerStatus
from streams.runtime.readiness import assigned_partitions, waiting_for

TOPIC = "p.opportunities"


class TP(NamedTuple):
    topic: str
    partition: int


def status(
    worker: str, state: str = "ready", parts: tuple[int, ...] = (0, 1), **kw: Any
) -> WorkerStatus:
    fields: dict[str, Any] = {
        "worker_id": worker,
        "group": "oppbus",
        "state": state,
        "assigned": {TOPIC: list(parts)},
        "at": datetime.now(UTC),
        "interval_s": 2.0,
    }
    fields.update(kw)
    return WorkerStatus(**fields)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed(book: WorkerBook, event: WorkerStatus) -> None:
    enc = encode(event, source="urn:test")
    book(event.worker_id.encode(), enc.value, list(enc.headers), ("t", 0, 0))


def test_no_worker_is_not_ready_and_says_so() -> None:
    waiting, workers = routing_verdict([], TOPIC, 2)
    assert workers == [] and waiting and "none has reported" in waiting[0]


def test_ready_workers_must_hold_every_partition_between_them() -> None:
    assert routing_verdict([status("a", parts=(0,))], TOPIC, 2)[0] == [
        f"partitions: {TOPIC} 1 not held by a ready worker"
    ]
    both = [status("a", parts=(0,)), status("b", parts=(1,))]
    assert routing_verdict(both, TOPIC, 2)[0] == []


def test_a_starting_worker_names_what_it_waits_for_and_holds_nothing_yet() -> None:
    starting = status("a", state="starting", waiting_for=["views: catching up"])
    waiting, workers = routing_verdict([starting], TOPIC, 2)
    assert "worker a: views: catching up" in waiting
    assert any("not held by a ready worker" in w for w in waiting)
    assert workers == [{"worker_id": "a", "state": "starting", "partitions": 2}]


def test_the_book_forgets_a_silent_worker_and_a_stopped_one_at_once() -> None:
    clock = Clock()
    book = WorkerBook("oppbus", clock=clock)
    feed(book, status("a"))
    feed(book, status("b"))
    assert {s.worker_id for s in book.live()} == {"a", "b"}
    clock.now += STALE_INTERVALS * 2.0 + 0.1  # both silent for more than 3 heartbeats
    assert book.live() == []
    feed(book, status("a"))
    feed(book, status("a", state="stopped", assigned={}))
    assert book.live() == []


def test_the_book_ignores_other_groups_and_garbage() -> None:
    book = WorkerBook("oppbus", clock=Clock())
    feed(book, status("a", group="someone-else"))
    book(b"x", b"not json", [], ("t", 0, 1))
    book(b"x", None, [], ("t", 0, 2))  # a tombstone of an unknown worker
    assert book.live() == []


def _app(**kw: Any) -> Any:
    completed = SimpleNamespace(is_set=lambda: kw.get("recovered", True))
    consumer = SimpleNamespace(
        flow_active=kw.get("flow", True),
        assignment=lambda: [TP(TOPIC, 1), TP(TOPIC, 0), TP("other", 0)],
    )
    return SimpleNamespace(
        rebalancing=kw.get("rebalancing", False),
        in_recovery=kw.get("in_recovery", False),
        client_only=False,
        consumer=consumer,
        tables=SimpleNamespace(recovery=SimpleNamespace(completed=completed)),
    )


def test_a_worker_routes_only_after_its_first_recovery_and_outside_rebalances() -> None:
    assert waiting_for(_app()) == []
    assert waiting_for(_app(recovered=False)) == [
        "consumer group: first assignment and table recovery"
    ]
    assert waiting_for(_app(rebalancing=True)) == ["consumer group: joining or rebalancing"]
    assert waiting_for(_app(in_recovery=True)) == ["tables: recovering from their changelogs"]
    assert waiting_for(_app(flow=False)) == ["consumer: flow paused"]
    assert assigned_partitions(_app(), frozenset({TOPIC})) == {TOPIC: [0, 1]}
