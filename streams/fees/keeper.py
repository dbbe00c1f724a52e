"""The fee keeper (the worker's edge of the fee ledger): appends what the referral log calls for.

It follows the whole ``referrals`` topic (offers with their terms, won and lost outcomes) and the
whole ``fees`` topic (what is recorded), two registrations on the worker's ``SharedFollower``,
into a :class:`streams.fees.book.FeeBook`, and every ``fee_tick_s`` appends ``book.due(now)``:
the fee events of new outcomes and the approvals whose window has ended (event time: an
approval's ``at`` is the window's end, whenever the timer sees it). After a restart it reads
both topics again, so the timer survives restarts and a crash between two appends is made good
on the next run.

Exactly once by identity: every fee event's id is derived from its cause and is its key on the
compacted ``fees`` topic, and readers keep one event per id. Two workers (or a worker and its
replacement) appending the same event write the same key: it counts once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.codec import Envelope, encode
from schemas.events import event_key
from schemas.fees import FeeRecorded
from streams.event_sink import EventSink, Followed
from streams.fees.book import FeeBook, wanted
from streams.record_auth import RecordAuth
from streams.runtime import SharedFollower
from streams.settings import Settings

__all__ = ["FeeKeeper", "register_fee_keeper"]

log = logging.getLogger(__name__)
SOURCE = "oppbus/fees"


class FeeKeeper:
    def __init__(self, app: faust.App, settings: Settings, follower: SharedFollower) -> None:
        self.app = app
        self.settings = settings
        self.book = FeeBook()
        self.appended = 0
        self.topic = settings.topic("fees")
        self.auth = RecordAuth.from_settings(settings)  # stamps what it appends
        # a forged won outcome accrues nothing: both sinks check the MAC
        self._referral_sink = EventSink(
            settings, ["referrals"], self._on_referral, log=log, wanted=wanted
        )  # most of the ledger, and offers without terms, are passed over unread (book.wanted)
        self._fee_sink = EventSink(settings, ["fees"], self._on_fee, log=log)
        self.referrals = follower.follow(
            self._referral_sink.full_topics, self._referral_sink, name="fee-referrals"
        )
        self.fees = follower.follow(self._fee_sink.full_topics, self._fee_sink, name="fee-ledger")

    @property
    def unauthenticated(self) -> int:
        return self._referral_sink.unauthenticated + self._fee_sink.unauthenticated

    def _on_referral(self, envelope: Envelope, origin: Followed) -> None:
        self.book.on_referral(envelope.event, envelope.id)

    def _on_fee(self, envelope: Envelope, origin: Followed) -> None:
        if isinstance(envelope.event, FeeRecorded):
            self.book.on_fee(envelope.event)

    async def append_due(self, now: datetime | None = None) -> int:
        producer: Any = self.app.producer
        due = self.book.due(now or datetime.now(UTC))
        for record in due:
            enc = encode(record, source=SOURCE, id=record.event_id)
            key = event_key(record)
            headers = self.auth.stamp(self.topic, key, enc.value, enc.headers)
            await producer.send_and_wait(self.topic, key, enc.value, None, None, headers)
        self.appended += len(due)
        return len(due)

    async def run(self) -> None:
        await self.fees.wait_caught_up()  # what is recorded first, so nothing is appended twice
        await self.referrals.wait_caught_up()
        while True:
            await self.append_due()
            await asyncio.sleep(self.settings.fee_tick_s)


def register_fee_keeper(app: faust.App, settings: Settings, follower: SharedFollower) -> FeeKeeper:
    """Register the keeper's two views on ``follower`` (run by the caller) and declare its loop
    as a task of ``app``."""
    keeper = FeeKeeper(app, settings, follower)

    async def keep_fees() -> None:
        try:
            await keeper.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a lost append must not go unnoticed: restart and re-derive
            log.error("fee keeper failed: %r", exc)
            await app.crash(exc)

    app.task(keep_fees)
    return keeper
