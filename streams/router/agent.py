"""The router agent and the deadline timer: Faust wiring around ``Router`` (I/O only).

One agent reads ``opportunities``, ``responses`` and the internal ``offer-deadlines`` ticks. All
three are keyed by the opportunity key and have the same partition count, so every event about one
opportunity reaches the one worker that owns that opportunity's row in the ``opportunity-state``
table (written with the producer's key partitioner, like the inputs; the API must publish with
the default partitioner on the opportunity key, as every Kafka client does). Every input but the
ticks must carry the bus's MAC (streams/record_auth.py): a forged one is dead-lettered.

Throughput shape (``docs/upstream/faust-throughput.md``): ``take_events`` batches, raw bytes in and out,
one ``decode``/``encode`` per event, records handed to ``app.producer.send`` below Faust's Topic
layer. Per batch: decide everything, store the changed rows (and wait for their changelog), then
publish the events. A crash never leaves a published offer without its row; a row whose events
were lost is replayed when its input is re-processed (identical events, stable ids). Agent
concurrency is 1 (faust-streaming issue 606: concurrency > 1 loses events), which also makes each
batch the only writer of its rows.

Deadlines: every ``deadline_scan_s`` the timer pops the opportunities with an offer past its
deadline (or a closed marker past its retention, which the tick deletes) from a ``DeadlineIndex``
(kept with every row write, rebuilt after every table recovery) and sends a tick for each; the
owning worker expires the offer and re-offers. Rows live in a changelog-backed table, so deadlines
survive restarts; a repeated or misdirected tick is harmless (an expiry is idempotent).

Waiting opportunities (nobody can take them yet) are due every ``waiting_recheck_s`` through the
same index, and at once (:meth:`RouterAgent.wake_waiting`) when a partner profile or the partners'
load changes, so a freed slot or a new partner is offered the opportunity within a tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust

from schemas.codec import decode, header
from schemas.errors import InvalidEvent
from schemas.events import (
    AcceptReferral,
    ConflictResolved,
    DeclineReferral,
    Opportunity,
    OpportunityWithdrawn,
    ReportOutcome,
    RerouteRequested,
)
from streams.deadletter import (
    ErrorPolicy,
    EventRef,
    Refusal,
    dead_letter_domain_errors,
    dead_letter_record,
)
from streams.offers.deadlines import DeadlineIndex
from streams.offers.store import Pending
from streams.record_auth import RecordAuth
from streams.router.emit import Out
from streams.router.handlers import Router
from streams.runtime import ChangelogWriter, unacked_if_failed
from streams.settings import Settings

__all__ = ["RouterAgent", "register_router"]

log = logging.getLogger(__name__)

STATE_TABLE = "opportunity-state"
CONSUMER = "router"


@dataclass
class RouterAgent:
    """The Faust pieces of the router, kept for tests and benches."""

    app: faust.App
    settings: Settings
    router: Router
    table: Any
    policy: ErrorPolicy
    ready: Callable[[], Awaitable[None]]
    batch_max: int = 2000
    batch_within_s: float = 0.005
    processed: int = 0
    dead_lettered: int = 0
    deadlines: DeadlineIndex = field(default_factory=DeadlineIndex)
    waiting: set[bytes] = field(default_factory=set)  # keys of this worker's waiting rows
    woken_at: float = 0.0
    wake_interval_s: float = 5.0
    rows: ChangelogWriter = field(init=False)  # the one writer of ``table`` (values are bytes)
    auth: RecordAuth = field(init=False)

    def __post_init__(self) -> None:
        self.rows = ChangelogWriter(self.table)
        self.auth = RecordAuth.from_settings(self.settings)

    def name(self, short: str) -> str:
        return self.settings.topic(short)

    async def process(self, messages: Sequence[Any], now: float | None = None) -> int:
        """Handle one batch of Faust messages; returns how many records were published."""
        now = time.time() if now is None else now
        pending = Pending(self.table)
        outputs: list[Out] = []
        dead: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
        ticks = self.name("offer-deadlines")
        for m in messages:
            try:
                if m.topic == ticks:
                    outputs.extend(self.router.on_tick(bytes(m.key), pending, now))
                    continue
                outputs.extend(self._handle(m, pending, now))
            except Exception as exc:
                ref = EventRef(
                    m.topic,
                    m.partition,
                    m.offset,
                    m.key,
                    m.value,
                    _headers(m.headers),
                    header(m.headers, "ce_id"),
                )
                if not self.policy(exc, ref, log):
                    raise
                if isinstance(exc, Refusal):
                    outputs.extend(exc.outputs)
                dead.append(dead_letter_record(exc, ref, consumer=CONSUMER, now=now))
        self.processed += len(messages)
        self.dead_lettered += len(dead)
        send = self.app.producer.send
        # The rows first: into the table's store and, as bytes, onto its changelog through the
        # same producer (streams.runtime.ChangelogWriter: Faust's own table write queues each
        # change in a buffer drained one message at a time, which capped the router near 400
        # opportunities/s). The batch's events go out only once the rows are stored, so a crash
        # never leaves a published offer without its row: re-processing then replays the stored
        # decision instead of routing again (which, with the partners' load moved by that very
        # offer, could pick someone else).
        rows = self.rows
        entered: list[bytes] = []  # rows now waiting: a wake scheduled already covers them too
        for key, row in pending.rows.items():
            if row is not None and row.state.phase == "waiting":
                self.waiting.add(key)
                entered.append(key)
            else:
                self.waiting.discard(key)
        stored = []
        for key, value in pending.drain():
            if value is None:  # a closed marker past its retention: deleted, tombstoned
                self.deadlines.set(key, None)
                stored.append(await rows.delete(send, key))
            else:
                self.deadlines.set_row(key, value)
                stored.append(await rows.put(send, key, value))
        if stored:
            await asyncio.gather(*stored)
        if self.woken_at > now:
            for key in entered:
                self.deadlines.advance(key, self.woken_at)
        stamp = self.auth.stamp  # every record the bus writes carries its MAC
        for o in outputs:
            full = self.name(o.topic)
            await send(full, o.key, o.value, None, None, stamp(full, o.key, o.value, o.headers))
        dlq = self.name("deadletter")
        for k, v, h in dead:
            await send(dlq, k, v, None, None, stamp(dlq, k, v, h))
        return len(outputs) + len(dead)

    def _handle(self, m: Any, pending: Pending, now: float) -> list[Out]:
        self.auth.check(m.topic, m.key, m.value, _headers(m.headers))  # forged: dead-lettered
        env = decode(m.value, m.headers)
        event = env.event
        if isinstance(event, Opportunity):
            return self.router.on_opportunity(event, bytes(m.value), pending, now)
        if isinstance(event, AcceptReferral | DeclineReferral | ReportOutcome):
            return self.router.on_response(event, pending, now)
        if isinstance(event, OpportunityWithdrawn):
            return self.router.on_withdrawn(event, pending, now)
        if isinstance(event, ConflictResolved):
            return self.router.on_resolved(event, pending, now)
        if isinstance(event, RerouteRequested):
            return self.router.on_reroute(event, pending, now)
        raise InvalidEvent("unexpected_type", f"{env.type} does not belong on {m.topic}")

    async def tick_due(self, now: float | None = None) -> int:
        """Send a deadline tick for every opportunity with an offer past its deadline."""
        now = time.time() if now is None else now
        topic = self.name("offer-deadlines")
        due = self.deadlines.pop_due(now)
        for key in due:
            await self.app.producer.send(topic, key, b"", None, None, None)
        return len(due)

    def wake_waiting(self, now: float | None = None) -> int:
        """A profile or the partners' load changed: make every waiting row of this worker due
        now — or, within ``wake_interval_s`` of the last wake, at the end of that interval (the
        load changes with every referral, and a wake re-ranks every waiting opportunity). A
        change while a wake is scheduled is covered by it (and so is a row that starts waiting
        meanwhile, see :meth:`process`). Returns how many rows were woken."""
        now = time.time() if now is None else now
        if not self.waiting or self.woken_at > now:
            return 0
        at = max(now, self.woken_at + self.wake_interval_s)
        self.woken_at = at
        for key in self.waiting:
            self.deadlines.advance(key, at)
        return len(self.waiting)

    async def on_recovered(self) -> None:
        """The table was (re)loaded from its changelog: index its deadlines again."""
        rows = list(self.table.data.items())
        n = self.deadlines.rebuild(rows)
        self.waiting = {bytes(k) for k, v in rows if isinstance(v, bytes) and _WAITING in v}
        log.info("deadline index rebuilt: %d opportunities due, %d waiting", n, len(self.waiting))


_WAITING = b'"phase":"waiting"'  # in a stored row (orjson writes no spaces)


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    if raw is None:
        return []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), bytes(v or b"")) for k, v in items]


def register_router(
    app: faust.App,
    settings: Settings,
    router: Router,
    ready: Callable[[], Awaitable[None]],
    *,
    policy: ErrorPolicy = dead_letter_domain_errors,
) -> RouterAgent:
    """Declare the state table, the router agent and the deadline timer on ``app``."""
    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=settings.partitions,
        key_type=bytes,  # bytes: the raw serializer, no codec on the changelog
        value_type=bytes,
        use_partitioner=True,  # rows follow the key, like the inputs (see the module docstring)
        help="Routing state of each opportunity: offers, their statuses and deadlines.",
    )
    ctx = RouterAgent(app, settings, router, table, policy, ready)
    ctx.wake_interval_s = min(ctx.wake_interval_s, settings.waiting_recheck_s)
    table.on_recover(ctx.on_recovered)
    source = app.topic(
        settings.topic("opportunities"),
        settings.topic("responses"),
        settings.topic("offer-deadlines"),
        key_serializer="raw",
        value_serializer="raw",
    )

    async def route(stream: faust.StreamT[Any]) -> None:
        await ready()  # never route against a half-loaded directory
        assert isinstance(stream, faust.Stream)  # take_events is on the class, not the protocol
        async for events in stream.take_events(ctx.batch_max, within=ctx.batch_within_s):
            messages = [e.message for e in events]
            with unacked_if_failed(app.consumer, messages):  # never commit a half-done batch
                await ctx.process(messages)

    # concurrency 1: faust-streaming issue 606 (events lost with concurrency > 1).
    app.agent(source, name=f"{settings.app_id}.router", concurrency=1, sink=None)(route)

    async def scan_deadlines() -> None:
        await ctx.tick_due()

    app.timer(interval=settings.deadline_scan_s, name=f"{settings.app_id}.deadlines")(
        scan_deadlines
    )
    return ctx
