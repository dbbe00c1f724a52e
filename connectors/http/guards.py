"""Replay guards on the log: the Idempotency-Key store and the CRM replay guard of every API process.

Each API process reads the compacted ``api-guards`` topic whole (its read model, from the
beginning, then following it) into a :class:`GuardTable`. To run a guarded request a process
publishes a ``claimed`` record for the request's slot and waits until its own read model applied
it; the table keeps, per slot, the first live claim in log order (a ``done`` or ``released`` record
counts only from the claim it answers), so every process, and one restarted later, agrees on who
won. The loser answers as if the winner's request were its own: a replay, ``409`` while it runs,
``422`` for the same Idempotency-Key with another body. Records are authenticated by the bus
(service key), and the response kept for a replay is sealed with the data keys.
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from connectors.http.errors import ApiError
from connectors.http.publisher import Published
from schemas.guards import GuardRecord, GuardResponse

__all__ = ["GuardTable", "SharedGuards", "SharedIdempotency", "SharedReplayGuard", "slot_of"]

REPLAYED = "Idempotent-Replayed"
EXPIRED_GRACE = timedelta(minutes=10)
Publish = Callable[[GuardRecord], Awaitable[Published]]
Visible = Callable[[Published], Awaitable[None]]


def slot_of(guard: str, *parts: str) -> str:
    return hashlib.sha256("\x00".join((guard, *parts)).encode()).hexdigest()


class GuardTable:
    """Per slot, the record that decides: pure, fed in log order by the read model.

    Bounded: a slot whose deciding record expired ``EXPIRED_GRACE`` before the latest record of
    the log (its ``at``: the log's own clock, so a process replaying the log later drops exactly
    what a live one dropped) is forgotten; ``live`` no longer saw it anyway. The grace covers a
    claim made just before the expiry but written to the log after it: it is still decided
    against the expired record, as without the drop. An answer (``done``/``released``) written
    more than the grace after its claim expired is not kept: its request ran past its claim's
    ttl and was given up on (tests/unit/test_guard_table.py checks the rest never changes)."""

    def __init__(self) -> None:
        self._slots: dict[str, GuardRecord] = {}
        self._expiring: list[tuple[datetime, str]] = []  # (expires at, slot), a heap
        self._clock: datetime | None = None  # the latest record's time

    def apply(self, record: GuardRecord) -> None:
        current = self._slots.get(record.slot)
        if record.state == "claimed":
            free = current is None or current.state == "released"
            if free or current.expires_at <= record.at:  # type: ignore[union-attr]
                self._decide(record)
        elif current is not None and current.claim_id == record.claim_id:
            self._decide(record)  # the winner's answer; a loser's is ignored
        if self._clock is None or record.at > self._clock:
            self._clock = record.at
            self._expire(self._clock - EXPIRED_GRACE)

    def _decide(self, record: GuardRecord) -> None:
        self._slots[record.slot] = record
        heapq.heappush(self._expiring, (record.expires_at, record.slot))

    def _expire(self, cutoff: datetime) -> None:
        while self._expiring and self._expiring[0][0] <= cutoff:
            _, slot = heapq.heappop(self._expiring)
            record = self._slots.get(slot)
            if record is not None and record.expires_at <= cutoff:
                del self._slots[slot]

    def live(self, slot: str, now: datetime) -> GuardRecord | None:
        record = self._slots.get(slot)
        if record is None or record.state == "released" or record.expires_at <= now:
            return None
        return record

    def __len__(self) -> int:
        return len(self._slots)


@dataclass
class SharedGuards:
    """Claims slots through the log; ``publish`` and ``visible`` are the API's own."""

    table: GuardTable
    publish: Publish
    visible: Visible

    async def claim(
        self, guard: str, slot: str, fingerprint: str, ttl_s: float
    ) -> tuple[GuardRecord, bool]:
        """The slot's deciding record and whether it is this call's own claim."""
        now = datetime.now(UTC)
        current = self.table.live(slot, now)
        if current is not None and current.state == "done":
            return current, False
        # Free, or claimed by someone whose answer this process may not have read yet: a claim of
        # our own, once visible, means the table has applied everything logged before it, so the
        # winner below carries its ``done`` when it came first (a retry sent straight to another
        # API process is a replay, not a 409).
        mine = GuardRecord(
            slot=slot,
            guard=guard,
            claim_id=secrets.token_hex(16),
            state="claimed",
            fingerprint=fingerprint,
            at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        await self.visible(await self.publish(mine))
        winner = self.table.live(slot, now)
        if winner is None:  # expired meanwhile: nobody holds it, ours stands
            return mine, True
        return winner, winner.claim_id == mine.claim_id

    async def settle(
        self, claim: GuardRecord, *, response: GuardResponse | None = None, ttl_s: float = 0.0
    ) -> None:
        """``done`` (kept ``ttl_s`` more, with ``response``) or, without ``ttl_s``, ``released``."""
        now = datetime.now(UTC)
        update = {"state": "released", "at": now, "expires_at": now}
        if ttl_s > 0:
            update = {"state": "done", "at": now, "expires_at": now + timedelta(seconds=ttl_s),
                      "response": response}  # fmt: skip
        await self.visible(await self.publish(claim.model_copy(update=update)))


@dataclass
class SharedIdempotency:
    """``Idempotency-Key`` semantics (connectors/http/idempotency.py) across API processes."""

    guards: SharedGuards
    ttl_s: float = 24 * 3600.0
    running_ttl_s: float = 120.0  # a claim whose process died frees the key after this

    async def run(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        handler: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        slot = slot_of("idempotency", scope, key)
        record, mine = await self.guards.claim("idempotency", slot, fingerprint, self.running_ttl_s)
        if not mine:
            if record.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "this Idempotency-Key was used with a different request body",
                    code="idempotency_key_reused",
                )
            if record.state != "done" or record.response is None:
                raise ApiError(
                    409,
                    "a request with this Idempotency-Key is still being processed",
                    code="idempotency_key_in_use",
                )
            kept = record.response
            return web.Response(
                body=kept.body.encode(),
                status=kept.status,
                content_type=kept.content_type,
                headers={REPLAYED: "true"},
            )
        try:
            response = await handler()
        except BaseException:
            await self.guards.settle(record)  # refused: a corrected retry may reuse the key
            raise
        if 200 <= response.status < 300 and isinstance(response.body, bytes):
            kept = GuardResponse(
                status=response.status,
                content_type=response.content_type,
                body=response.body.decode("utf-8", "replace"),
            )
            await self.guards.settle(record, response=kept, ttl_s=self.ttl_s)
        else:
            await self.guards.settle(record)
        return response


@dataclass
class SharedReplayGuard:
    """The CRM replay guard across API processes: one signed request is accepted once."""

    guards: SharedGuards
    tolerance_s: float

    async def reserve(self, key: str, timestamp_s: float) -> GuardRecord | None:
        """The claim when ``key`` was not seen within the tolerance; None for a replay."""
        ttl = max(timestamp_s, time.time()) + self.tolerance_s - time.time()
        record, mine = await self.guards.claim("crm-replay", slot_of("crm", key), "", ttl)
        return record if mine else None

    async def accepted(self, claim: GuardRecord) -> None:
        remaining = (claim.expires_at - datetime.now(UTC)).total_seconds()
        await self.guards.settle(claim, ttl_s=max(remaining, 1.0))

    async def release(self, claim: GuardRecord) -> None:
        """Forget a reservation whose request failed (the sender will retry it)."""
        await self.guards.settle(claim)
