"""faust-streaming's at-least-once commits offsets of input records that were never processed.

Worked around by ``streams.runtime.commit_guard.CommitGuard`` (row "commit guard" in
``streams/runtime/README.md``). Each test drives Faust's own aiokafka ``Consumer`` through the
bookkeeping its drain loop and streams do, and shows the offset it would commit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP, Message

from tests.regression.upstream.conftest import IN

TP0 = TP(IN, 0)


def _message(offset: int, generation_id: int = 0) -> Message:
    return Message(IN, 0, offset, 0.0, None, {}, b"k", b"v", None, generation_id=generation_id)


async def test_a_jump_in_delivered_offsets_is_filled_in_as_a_gap(stock_app: faust.App) -> None:
    consumer = stock_app.consumer
    consumer._committed_offset[TP0] = 480  # 480..509 were fetched and dropped before the stream
    await consumer._add_gap(TP0, 481, 509)  # what _drain_messages does on the jump to 510
    assert consumer.ack(_message(510))
    assert consumer._new_offset(TP0) == 511, "a jump is no longer taken for a gap"


async def test_the_head_check_commits_past_the_record_at_the_committed_offset(
    stock_app: faust.App,
) -> None:
    consumer = stock_app.consumer
    consumer._committed_offset[TP0] = 480  # 480 is the next record to process
    assert consumer.ack(_message(481))
    assert consumer._new_offset(TP0) == 482, (
        "Faust now waits for the record at the committed offset"
    )


async def test_a_message_of_an_earlier_generation_is_committable_when_acknowledged(
    stock_app: faust.App,
) -> None:
    """``Stream.__aiter__`` acknowledges the messages it skips (fetched under another generation
    or while the flow is suspended): the consumer takes them as processed."""
    consumer = stock_app.consumer
    assert stock_app.consumer_generation_id != 7
    assert consumer.ack(_message(5, generation_id=7))
    assert consumer._new_offset(TP0) == 6, "Faust no longer commits a skipped message"


async def test_no_committed_offset_is_kept_for_a_partition_the_group_never_committed(
    stock_app: faust.App,
) -> None:
    consumer = stock_app.consumer

    async def nothing_committed() -> dict[TP, int | None]:
        return {TP0: None}

    consumer.seek_to_committed = nothing_committed  # the broker's answer: no offset
    await consumer.perform_seek()
    assert consumer._committed_offset.get(TP0) is None, "Faust now sets a base for it"


async def test_take_events_acknowledges_a_batch_whose_body_raised(stock_app: faust.App) -> None:
    """Worked around by ``unacked_if_failed`` around every batch (router, scorecards)."""
    stock_app.flow_control.resume()  # as a started worker has it
    stream: Any = stock_app.channel().stream()
    acked: list[int] = []

    async def ack(event: Any) -> bool:
        acked.append(event.value)
        return True

    stream.ack = ack

    async def agent() -> None:
        async for _ in stream.take_events(2, within=0.1):
            raise RuntimeError("the batch's body failed")

    body = asyncio.ensure_future(agent())
    try:
        await asyncio.sleep(0.05)  # the agent is reading the channel
        for value in (1, 2):
            await stream.channel.send(value=value)
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(body, 5)
    finally:
        body.cancel()
        await stream.stop()
    assert acked == [1, 2], "take_events no longer acknowledges a failed batch"
