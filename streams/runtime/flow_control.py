"""Faust's flow control, without dropping records a stream was handed while the flow ran.

Found with an offset trace of the kill -9 fault test (the loss of ~700-2,000 opportunities after
a restart, a few runs in ten): ``mode``'s ``FlowControlEvent.resume()`` clears every stream queue
(``clear_on_resume``) *even when the flow is already running*, and Faust's table recovery resumes
the flow twice: once to read the changelogs, and again after it has resumed the stream partitions
and sought them to their committed offsets (``Recovery.on_recovery_completed`` /
``_resume_streams``, Faust 0.15.3). Records the fetcher handed to the streams during that seek
(about 800 of one ``opportunities`` partition in the trace) were thrown away by the second
resume: consumed, never processed, never acknowledged. Later records of the partition exposed the
hole (``streams.runtime.commit_guard`` seeks back to it); when none came - the publisher had finished -
nothing ever did, and where no committed offset was known they were committed past.

``FlowControl.resume`` does nothing while the flow is active. Clearing on a real resume (after a
suspension, i.e. a rebalance) is unchanged: queues are cleared at the suspension anyway
(``App.on_rebalance_start``), and a message of an earlier generation is skipped by the stream.
"""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent

__all__ = ["FlowControl"]


class FlowControl(FlowControlEvent):
    """``FlowControlEvent`` whose ``resume`` keeps the queues when the flow already runs."""

    def resume(self) -> None:
        if self.is_active():
            return
        super().resume()
