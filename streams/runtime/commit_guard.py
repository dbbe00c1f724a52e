"""Never commit an input offset that was not processed: holes in Faust's at-least-once.

Measured in the fault suite (kill -9 a worker 3x during 5,000 opportunities, embedded broker):
10-650 opportunities per run were never routed - no row, no claim, no offer - yet their input
offsets were committed. Tracing every batch, commit, seek and ack of the workers showed how a
restarted worker lost them: it was assigned a partition whose committed offset was 480, its first
delivered message was 510 (the messages 480..509 were fetched while the table recovery finished
and the partition was being sought back to its committed offset, and were dropped before the
stream), Faust took the jump for a *gap in the log* (``Consumer._add_gap``, meant for compacted
topics and transaction markers), counted 481..509 as done, and committed 511 once 510 was
processed - its head check (``min(acked) - committed > 1``) even lets the message *at* the
committed offset go. Faust also acknowledges the messages its stream *skips* (fetched under an
earlier generation or while flow is suspended, ``Stream.__aiter__``), so they are committed too.

``CommitGuard`` (a mixin for Faust's consumer; Faust 0.15.3 internals, pinned) closes these:

- ``ack``: a message of another generation, or acknowledged while flow is suspended, is marked
  done for Faust without becoming committable (``withhold_ack``): it is read again after the
  rebalance, never committed unprocessed.
- ``_add_gap``: on topics that cannot have holes (cleanup ``delete``, no transactions: the bus's
  input topics) a jump in offsets is a delivery Faust dropped, not a gap: nothing is filled in.
- ``_new_offset``: nothing is committed while the message at the committed offset is not
  acknowledged (a hole at the head), and the partition is sought back to the committed offset so
  the missing messages are delivered again (the ones after it are re-delivered too: processing is
  idempotent, stable ids). Retried at every commit until the hole is filled. A hole retention
  has deleted (the log now starts past it) is reported as an error and the base moves to the log
  start; otherwise the reset to the start and this check would rewind each other forever.
- ``perform_seek`` (Faust's seek to the committed offsets after every assignment): the head check
  needs a committed offset, and Faust has none for a partition the group never committed (in the
  fault suite: the first worker killed within a second of its start, before its first commit).
  Without a base, a first delivery *past* records the consumer dropped (``streams.runtime.flow_control``)
  was committed as is: 1,140 opportunities of one partition lost, never offered, nothing logged.
  So each such partition of a gapless topic is asked again once (in case an answer came back
  empty: a warning; never seen in 10 fault runs), else counted from the start of its log:
  nothing past the base is committed before
  every record from it on is processed; a first delivery past it is sought back by the head
  check (not sought here: aiokafka already positioned the partition, and Faust may be
  delivering from it by now).

The agent side: ``take_events`` acknowledges its batch even when the body raises or is cancelled;
every batched agent (router, scorecards) processes a batch inside ``unacked_if_failed``, which
withholds those acks (``withhold_ack``) so a half-processed batch is read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CommitGuard", "unacked_if_failed", "withhold_ack"]

log = logging.getLogger(__name__)


def withhold_ack(consumer: Any, message: Any) -> None:
    """Mark ``message`` done for Faust without making its offset committable.

    For messages that were not (completely) processed: the partition's commit stops below them,
    and ``CommitGuard`` reads them again. Faust 0.15.3 internals (``Message.acked``,
    ``Consumer._unacked_messages``): the latter so a rebalance does not wait for this ack.
    """
    message.acked = True
    consumer._unacked_messages.discard(message)


@contextmanager
def unacked_if_failed(consumer: Any, messages: Iterable[Any]) -> Iterator[None]:
    """Process a ``take_events`` batch: if the body raises or is cancelled (worker stop,
    rebalance), withhold the acks Faust will give its messages anyway, so none of them is
    committed unprocessed; they are read again (processing is idempotent)."""
    try:
        yield
    except BaseException:
        for message in messages:
            withhold_ack(consumer, message)
        raise


class CommitGuard:
    """Mixin for Faust's ``Consumer``: commit only what was processed (see the module doc)."""

    app: Any
    _acked: Any
    _committed_offset: Any
    _gap: Any
    _rewinding: dict[Any, asyncio.Future[None]]
    # The group's committed offsets (None: none) by one more OffsetFetch: streams.runtime.app._Consumer
    committed_offsets: Callable[[list[Any]], Awaitable[dict[Any, int | None]]]

    def assignment(self) -> Any:  # provided by Faust's Consumer
        return super().assignment()  # type: ignore[misc]

    async def earliest_offsets(self, *partitions: Any) -> Any:  # Faust's aiokafka Consumer
        return await super().earliest_offsets(*partitions)  # type: ignore[misc]

    @property
    def gapless_topics(self) -> frozenset[str]:
        """Full names of the topics whose offsets have no holes (``app.gapless_topics``)."""
        topics: frozenset[str] = getattr(self.app, "gapless_topics", frozenset())
        return topics

    def ack(self, message: Any) -> bool:
        app = self.app
        if message.generation_id != app.consumer_generation_id or not (
            app.flow_control.is_active()
        ):
            withhold_ack(self, message)
            return False
        return bool(super().ack(message))  # type: ignore[misc]

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        if tp.topic in self.gapless_topics:
            # Usually benign since streams.runtime.flow_control: records delivered while Faust sought the
            # partition back (its read offset moved back behind them). A real hole is rewound by
            # the head check below, with a warning.
            log.info(
                "topic=%s partition=%d: delivery jumped past offsets %d..%d; not taken for a gap: "
                "nothing past them is committed before they are processed",
                tp.topic,
                tp.partition,
                offset_from,
                offset_to - 1,
            )
            return
        await super()._add_gap(tp, offset_from, offset_to)  # type: ignore[misc]

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked.get(tp)
        committed = self._committed_offset.get(tp)
        if acked and committed is not None and min(acked) > committed and not self._gap.get(tp):
            self._rewind(tp, committed)
            return None
        offset: int | None = super()._new_offset(tp)  # type: ignore[misc]
        return offset

    async def perform_seek(self) -> None:
        await super().perform_seek()  # type: ignore[misc]
        missing = [
            tp
            for tp in self.assignment()
            if tp.topic in self.gapless_topics and self._committed_offset.get(tp) is None
        ]
        if not missing:
            return
        again = await self.committed_offsets(missing)
        unknown = [tp for tp in missing if not again.get(tp)]
        starts = await self.earliest_offsets(*unknown) if unknown else {}
        for tp in sorted(missing):
            offset = again.get(tp)
            if offset:
                log.warning(
                    "topic=%s partition=%d: the seek to the committed offsets found none, "
                    "asked again: %d",
                    tp.topic,
                    tp.partition,
                    offset,
                )
            else:
                offset = starts.get(tp) or 0
                log.info(
                    "topic=%s partition=%d: no committed offset, reading from the log start %d",
                    tp.topic,
                    tp.partition,
                    offset,
                )
            self._committed_offset[tp] = offset

    def _rewind(self, tp: Any, offset: int) -> None:
        """Seek ``tp`` back to ``offset`` (once at a time) so the hole is delivered again."""
        if not hasattr(self, "_rewinding"):
            self._rewinding = {}
        if tp in self._rewinding:
            return
        log.warning(
            "topic=%s partition=%d: offset %d not processed yet, later ones are; reading again from it",
            tp.topic,
            tp.partition,
            offset,
        )

        task = asyncio.ensure_future(self._seek_back(tp, offset))
        self._rewinding[tp] = task

        def done(task: asyncio.Future[None]) -> None:
            self._rewinding.pop(tp, None)
            if not task.cancelled() and task.exception() is not None:
                log.warning("seek of %s back to %d failed: %r", tp, offset, task.exception())

        task.add_done_callback(done)

    async def _seek_back(self, tp: Any, offset: int) -> None:
        """Seek to ``offset``, or to the log start if retention deleted the records from it: the
        consumer would reset to the start and the head check rewind again, forever (a worker
        down longer than a Kafka retention). Those records are gone: said as an error."""
        start = (await self.earliest_offsets(tp)).get(tp) or 0
        if start > offset:
            log.error(
                "topic=%s partition=%d: offsets %d..%d were deleted by retention before this "
                "group processed them; reading on from the log start %d",
                tp.topic,
                tp.partition,
                offset,
                start - 1,
                start,
            )
            self._committed_offset[tp] = offset = start
        await self.seek(tp, offset)  # also resets Faust's read offset

    async def seek(self, partition: Any, offset: int) -> None:  # provided by Faust's Consumer
        await super().seek(partition, offset)  # type: ignore[misc]
