"""mode-streaming: ``FlowControlEvent.resume()`` clears the managed queues even while the flow runs.

Worked around by ``streams.runtime.flow_control.FlowControl`` (row "flow control" in
``streams/runtime/README.md``). Faust's table recovery resumes a running flow (see
``test_faust_recovery.py``): with mode's event that throws away what the streams were handed.
"""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent, FlowControlQueue


def test_resuming_a_running_flow_clears_the_queued_records() -> None:
    flow = FlowControlEvent(initially_suspended=False)
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for offset in (1686, 1687, 1688):
        queue.put_nowait(offset)
    assert flow.is_active()
    flow.resume()  # no suspension in between: nothing to resume
    assert queue.qsize() == 0, "mode keeps the queue on a no-op resume: FlowControl can go"
