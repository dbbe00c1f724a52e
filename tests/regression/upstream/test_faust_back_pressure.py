"""faust-streaming: back-pressure takes a partition out of fetching, and only the stream queue's
pressure-drop callback, run by a later read of the queue, puts it back.

Worked around by ``streams.runtime.stranded.StrandWatch`` (row "stranded partition" in
``streams/runtime/README.md``). The fault-suite sighting (a partition left out for good) is not
reproducible on demand; this shows the mechanism it rests on: clearing the queue, as a flow
suspension does, leaves the partition out of fetching with nothing queued to bring it back.
"""

from __future__ import annotations

import faust
from faust.types import TP
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from tests.regression.upstream.conftest import IN

TP0, TP1 = TP(IN, 0), TP(IN, 1)


async def test_a_partition_stays_out_of_fetching_after_its_full_queue_is_cleared(
    stock_app: faust.App,
) -> None:
    consumer = stock_app.consumer
    consumer._active_partitions = {TP0, TP1}
    flow = FlowControlEvent(initially_suspended=False)
    queue: ThrowableQueue[int] = ThrowableQueue(maxsize=10, flow_control=flow, clear_on_resume=True)
    full = False
    while not full:  # what Conductor.on_message does for each record of TP0
        full = queue.put_nowait_enhanced(
            1,
            on_pressure_high=lambda: consumer.on_buffer_full(TP0),
            on_pressure_drop=lambda: consumer.on_buffer_drop(TP0),
        )
    assert TP0 not in consumer._active_partitions
    flow.suspend()  # App.on_rebalance_start / a recovery's suspension ...
    flow.resume()  # ... and resume: the queue is cleared, its drop callback does not run
    assert queue.qsize() == 0
    assert TP0 not in consumer._active_partitions, "clearing the queue now gives the partition back"
    assert consumer._active_partitions == {TP1}
