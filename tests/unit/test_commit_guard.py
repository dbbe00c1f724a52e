"""CommitGuard: an input offset is committed only once processed (no broker: a stand-in base)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.types import TP

from streams.runtime.commit_guard import CommitGuard, unacked_if_failed, withhold_ack

TOPIC = "bus.opportunities"


@dataclass
class _Flow:
    active: bool = True

    def is_active(self) -> bool:
        return self.active


@dataclass
class _App:
    consumer_generation_id: int = 3
    flow_control: _Flow = field(default_factory=_Flow)
    gapless_topics: frozenset[str] = frozenset({TOPIC})


@dataclass(eq=False)  # hashable by identity, like Faust's messages
class _Message:
    offset: int
    generation_id: int = 3
    topic: str = TOPIC
    acked: bool = False


class _FaustConsumer:
    """What the mixin calls on Faust's consumer, recording the calls."""

    def __init__(self) -> None:
        self.app = _App()
        self._acked: dict[Any, list[int]] = defaultdict(list)
        self._committed_offset: dict[Any, int | None] = {}
        self._gap: dict[Any, Any] = {}
        self._unacked_messages: set[Any] = set()
        self.acked: list[int] = []
        self.gaps: list[tuple[int, int]] = []
        self.seeks: list[tuple[Any, int]] = []

    def ack(self, message: Any) -> bool:
        self.acked.append(message.offset)
        return True

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        self.gaps.append((offset_from, offset_to))

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked.get(tp)
        return max(acked) + 1 if acked else None

    async def seek(self, partition: Any, offset: int) -> None:
        self.seeks.append((partition, offset))

    # Faust's seek to the committed offsets, and what the broker answers when asked again
    assigned: frozenset[Any] = frozenset()
    fetched: dict[Any, int] = {}  # Faust's first OffsetFetch (0 -> none, as in Faust)
    asked_again: dict[Any, int | None] = {}
    log_start: dict[Any, int] = {}

    def assignment(self) -> frozenset[Any]:
        return self.assigned

    async def perform_seek(self) -> None:
        self._committed_offset.update({tp: off for tp, off in self.fetched.items() if off})

    async def committed_offsets(self, tps: list[Any]) -> dict[Any, int | None]:
        return {tp: self.asked_again.get(tp) for tp in tps}

    async def earliest_offsets(self, *partitions: Any) -> dict[Any, int]:
        return {tp: self.log_start.get(tp, 0) for tp in partitions}


class Guarded(CommitGuard, _FaustConsumer):
    pass


def test_a_message_of_an_earlier_generation_or_of_a_suspended_flow_is_not_committable() -> None:
    consumer = Guarded()
    assert consumer.ack(_Message(5)) is True
    stale = _Message(6, generation_id=2)
    consumer._unacked_messages.add(stale)
    assert consumer.ack(stale) is False
    consumer.app.flow_control.active = False
    assert consumer.ack(_Message(7)) is False
    assert consumer.acked == [5]
    assert stale.acked and stale not in consumer._unacked_messages


def test_a_jump_in_a_gapless_topic_is_not_taken_for_a_gap() -> None:
    consumer = Guarded()
    asyncio.run(consumer._add_gap(TP(TOPIC, 0), 481, 510))
    asyncio.run(consumer._add_gap(TP("bus.partners", 0), 3, 9))  # compacted: a real gap
    assert consumer.gaps == [(3, 9)]


async def test_nothing_is_committed_past_a_hole_at_the_head_and_the_partition_is_read_again() -> (
    None
):
    consumer = Guarded()
    tp = TP(TOPIC, 1)
    consumer._committed_offset[tp] = 480
    consumer._acked[tp] = [510, 511, 512]  # 480..509 never acknowledged
    assert consumer._new_offset(tp) is None
    assert consumer._new_offset(tp) is None  # one seek at a time
    await asyncio.sleep(0)
    assert consumer.seeks == [(tp, 480)]
    consumer._acked[tp] = [480, 481]
    assert consumer._new_offset(tp) == 482


def test_withhold_ack_marks_done_without_committing() -> None:
    consumer = Guarded()
    message = _Message(9)
    consumer._unacked_messages.add(message)
    withhold_ack(consumer, message)
    assert message.acked and not consumer._unacked_messages and consumer.acked == []


def test_a_batch_that_fails_or_is_cancelled_is_not_committed_and_one_that_succeeds_is() -> None:
    consumer = Guarded()
    done = [_Message(1), _Message(2)]
    with unacked_if_failed(consumer, done):
        pass  # processed: Faust's own acks will commit these
    assert not any(m.acked for m in done)

    for failure in (RuntimeError("fold failed"), asyncio.CancelledError()):
        batch = [_Message(3), _Message(4)]
        consumer._unacked_messages.update(batch)
        with pytest.raises(type(failure)), unacked_if_failed(consumer, batch):
            raise failure
        assert all(m.acked for m in batch) and not consumer._unacked_messages
        assert consumer.acked == []  # withheld: read again, never committed


async def test_a_partition_with_no_committed_offset_gets_a_base_so_a_jump_is_never_committed() -> (
    None
):
    """The fault suite's loss: no committed offset known, first delivery far past the start."""
    consumer = Guarded()
    never, empty_answer, known = TP(TOPIC, 0), TP(TOPIC, 1), TP(TOPIC, 2)
    compacted = TP("bus.partners", 0)
    consumer.assigned = frozenset({never, empty_answer, known, compacted})
    consumer.fetched = {known: 300}
    consumer.asked_again = {empty_answer: 487}
    consumer.log_start = {never: 0}
    await consumer.perform_seek()
    assert consumer._committed_offset == {never: 0, empty_answer: 487, known: 300}
    assert consumer.seeks == []  # aiokafka positioned them; the head check seeks when needed

    consumer._acked[never] = [1596, 1597]  # delivered from far past the base: 0..1595 missing
    assert consumer._new_offset(never) is None
    await asyncio.sleep(0)
    assert consumer.seeks == [(never, 0)]


async def test_a_hole_retention_deleted_moves_the_base_to_the_log_start_instead_of_looping() -> (
    None
):
    consumer = Guarded()
    tp = TP(TOPIC, 0)
    consumer._committed_offset[tp] = 480  # a worker down longer than the topic's retention
    consumer.log_start = {tp: 1000}
    consumer._acked[tp] = [1000, 1001]  # the consumer reset to the log start
    assert consumer._new_offset(tp) is None
    for _ in range(3):
        await asyncio.sleep(0)
    assert consumer.seeks == [(tp, 1000)] and consumer._committed_offset[tp] == 1000
    assert consumer._new_offset(tp) == 1002  # no second rewind: processing goes on
