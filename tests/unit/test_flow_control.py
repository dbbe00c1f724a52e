"""FlowControl: resuming a running flow keeps what the stream queues hold; a real resume (after
a suspension) clears them as mode's does."""

from __future__ import annotations

import asyncio

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.runtime.flow_control import FlowControl


def _queue(flow: FlowControlEvent) -> FlowControlQueue[int]:
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for offset in (1686, 1687, 1688):
        queue.put_nowait(offset)
    return queue


async def test_resuming_a_running_flow_keeps_the_queued_records() -> None:
    """mode's event clears them (tests/regression/upstream/test_mode_flow_control.py)."""
    ours = FlowControl(initially_suspended=False)
    queue = _queue(ours)
    ours.resume()  # what Faust's recovery does after seeking the resumed stream partitions
    assert queue.qsize() == 3
    assert ours.is_active()


async def test_a_resume_after_a_suspension_still_clears_and_wakes_the_waiters() -> None:
    flow = FlowControl(initially_suspended=False)
    queue = _queue(flow)
    flow.suspend()
    waiter = asyncio.ensure_future(flow.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    flow.resume()
    await asyncio.wait_for(waiter, 1.0)
    assert flow.is_active() and queue.qsize() == 0
