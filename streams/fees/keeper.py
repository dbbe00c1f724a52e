"""The fee keeper (the worker's edge of the fee ledger): appends what the referral log calls for.

It follows the whole ``referrals`` topic (offers with their terms, won and lost outcomes) and the
whole ``fees`` topic (what is recorded) into a :class:`streams.fees.book.FeeBook`, and every
``fee_tick_s`` appends ``book.due(now)``: the fee events of new outcomes and the approvals whose
window has ended (event time: an approval's ``at`` is the window's end, whenever the timer sees
it). After a restart it reads both topics again, so the timer survives restarts and a crash
between two appends is made good on the next run.

Exactly once by identity: every fee event's id is derived from its cause and is its key on the
compacted ``fees`` topic, and readers keep one event per id. Two workers (or a worker and its
replacement) appending the same event write the same key: it counts once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.codec import decode, encode
from schemas.errors import InvalidEvent
from schemas.events import event_key
from schemas.fees import FeeRecorded
from streams.fees.book import FeeBook, wanted
from streams.record_auth import RecordAuth
from streams.runtime import GlobalView
from streams.settings import Settings

__all__ = ["FeeKeeper", "register_fee_keeper"]

log = logging.getLogger(__name__)
SOURCE = "oppbus/fees"
_OFFERED = b"io.oppbus.referral.offered.v1"
# An offer made without terms, as the router writes it (orjson, no spaces): the book keeps no
# referral for it. The byte string can only be the event's own ``terms`` field: inside a JSON
# string every quote is escaped, and no other object of an offer has a ``terms`` key.
_NO_TERMS = b'"terms":null'


class FeeKeeper:
    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.book = FeeBook()
        self.appended = 0
        self.topic = settings.topic("fees")
        self.auth = RecordAuth.from_settings(settings)  # a forged won outcome accrues nothing
        self.unauthenticated = 0
        options = settings.kafka_client_options()
        self.referrals = GlobalView(
            settings.bootstrap_servers,
            settings.topic("referrals"),
            self._on_referral,
            name="fee-referrals",
            client_options=options,
        )
        self.fees = GlobalView(
            settings.bootstrap_servers,
            self.topic,
            self._on_fee,
            name="fee-ledger",
            client_options=options,
        )

    def _decoded(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> Any:
        if value is None:
            return None
        try:
            self.auth.check(origin[0], key, value, headers)
            return decode(value, headers)
        except InvalidEvent as exc:
            if exc.reason == "unauthenticated":
                self.unauthenticated += 1
                log.warning("fees: ignored topic=%s partition=%d offset=%d: %s", *origin, exc)
            return None  # the router and the API dead-letter or log bad records; not ours

    def _on_referral(
        self, key: bytes | None, value: bytes | None, headers: Any, origin: Any
    ) -> None:
        if not wanted(headers):
            return  # most of the ledger (accepted, declined, revealed, ...) is not about fees
        if value is not None and _NO_TERMS in value and _ce_type(headers) == _OFFERED:
            return  # an offer without terms: nothing to keep (most offers: skip MAC and decode)
        envelope = self._decoded(key, value, headers, origin)
        if envelope is not None:
            self.book.on_referral(envelope.event, envelope.id)

    def _on_fee(self, key: bytes | None, value: bytes | None, headers: Any, origin: Any) -> None:
        envelope = self._decoded(key, value, headers, origin)
        if envelope is not None and isinstance(envelope.event, FeeRecorded):
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
        await self.fees.wait_ready()  # what is recorded first, so nothing is appended twice
        await self.referrals.wait_ready()
        while True:
            await self.append_due()
            await asyncio.sleep(self.settings.fee_tick_s)


def _ce_type(headers: Sequence[tuple[str, bytes]]) -> bytes | None:
    for k, v in headers:
        if k == "ce_type":
            return v
    return None


def register_fee_keeper(app: faust.App, settings: Settings) -> FeeKeeper:
    """Declare the keeper's two views and its loop as tasks of ``app``."""
    keeper = FeeKeeper(app, settings)

    async def follow_fee_referrals() -> None:
        await keeper.referrals.run()

    async def follow_fee_ledger() -> None:
        await keeper.fees.run()

    async def keep_fees() -> None:
        try:
            await keeper.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a lost append must not go unnoticed: restart and re-derive
            log.error("fee keeper failed: %r", exc)
            await app.crash(exc)

    for task in (follow_fee_referrals, follow_fee_ledger, keep_fees):
        app.task(task)
    return keeper
