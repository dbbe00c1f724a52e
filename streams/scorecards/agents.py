"""Scorecards in a Faust worker: ledger -> partner-keyed facts -> tables -> ``partner-stats``.

Two agents (concurrency 1, faust-streaming issue 606), both batched with ``take_events`` and
sending bytes straight to ``app.producer.send`` (see the shared Faust throughput notes):

1. ``scorecard-facts`` reads ``referrals`` (keyed by opportunity), turns each ledger event into a
   fact and re-publishes the facts of a batch on ``scorecard-facts``, packed per partner involved
   (stateless: a re-delivery just yields duplicate facts, which stage 2 ignores).
2. ``scorecard-fold`` reads ``scorecard-facts`` (keyed by partner) and folds each fact (its
   position: the record's offset and its index in the pack) into two
   tables, both written to the changelog partition of the fact's own partition:
   ``scorecards-referrals`` (partner/referral -> :class:`RefState`, the idempotence record) and
   ``scorecards-partners`` (partner -> :class:`PartnerAggregate`, carrying the last input offset it
   folded). Each changed partner is written once per batch and its snapshot published once per
   batch on the compacted ``partner-stats`` topic (key: partner id; a CloudEvent of type
   ``io.oppbus.partner.stats.v1``: :class:`schemas.scorecard.PartnerScorecard`).

Memory: a closed referral's ``RefState`` is deleted (and tombstoned) ``closed_retention_s`` after
the fold saw it close (``streams/scorecards/retention.py``), at the start of a fold batch (the
agent stays the tables' only writer); the partner aggregates keep every figure.

Idempotence without transactions (the embedded broker has none): a duplicate fact does not move
its referral, so it changes nothing; after a crash, a replayed fact whose referral step was stored
but whose aggregate update was lost is re-derived from the stored step, and one whose aggregate
update was stored is not folded again (its offset is not above the aggregate's). Replays
re-publish the partner's snapshot, in case the crash came between the table write and the publish.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
import orjson
from faust.serializers import codecs
from faust.tables.table import Table
from faust.types import EventT, StreamT

from schemas.errors import InvalidEvent
from streams.runtime import unacked_if_failed
from streams.scorecards.facts import PACK_MAX, fact_from_record, routed_packs, unpack
from streams.scorecards.fold import LedgerFact, PartnerAggregate, apply
from streams.scorecards.retention import ClosedRefs, fact_partition, is_closed
from streams.scorecards.state import (
    aggregate_from_json,
    aggregate_to_json,
    ref_from_json,
    ref_to_json,
    snapshot_record,
)
from streams.settings import Settings

__all__ = ["BATCH_MAX", "BATCH_WITHIN_S", "Scorecards", "register_scorecards"]

log = logging.getLogger(__name__)

# A batch is processed when this many events are buffered or this much time has passed: large
# enough to coalesce a busy partner's updates into one table write and one snapshot, short enough
# that a scorecard lags the ledger by well under a second.
BATCH_MAX = 2000
BATCH_WITHIN_S = 0.05


class _JsonCodec(codecs.Codec):
    """Table values <-> one orjson call, through the fold's own JSON forms (the changelog's
    serializer, used when a worker recovers the table)."""

    def __init__(self, to_json: Callable[[Any], Any], from_json: Callable[[Any], Any]) -> None:
        super().__init__()
        self._to_json = to_json
        self._from_json = from_json

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(self._to_json(obj))

    def _loads(self, s: bytes) -> Any:
        return self._from_json(orjson.loads(s))


Tbl = Table[bytes, Any]
Send = Callable[..., Awaitable[Any]]


class _StateTable:
    """A Faust table whose changes we write ourselves: into its store, and as bytes onto its
    changelog through ``app.producer.send`` with the input's partition (co-partitioned).

    Faust's ``table[key] = value`` queues each change in the producer buffer, drained one message
    at a time ("producer buffer full" warnings; it capped this context below 1k events/s), and
    takes the partition from the *current* event, which in a ``take_events`` batch is the batch's
    last event, not necessarily this one's."""

    def __init__(self, app: faust.App, name: str, settings: Settings, codec: _JsonCodec) -> None:
        table_class: Any = app.conf.Table
        table = cast(
            Tbl,
            table_class(
                app,
                name=name,
                beacon=app.tables.beacon,
                partitions=settings.partitions,
                key_type=bytes,
            ),
        )
        # set before the table is added to the app, which creates the changelog topic from it
        table.value_serializer = codec
        app.tables.add(table)
        self.table = table
        self.codec = codec

    def get(self, key: bytes) -> Any:
        return self.table.data.get(key)

    async def put(self, send: Send, partition: int, key: bytes, value: Any) -> None:
        self.table.data[key] = value
        changelog = self.table.changelog_topic.get_topic_name()
        await send(changelog, key, self.codec._dumps(value), partition, None, None)

    async def delete(self, send: Send, partition: int, key: bytes) -> None:
        self.table.data.pop(key, None)
        changelog = self.table.changelog_topic.get_topic_name()
        await send(changelog, key, None, partition, None, None)


def _batches(stream: StreamT[bytes]) -> AsyncIterator[Sequence[EventT[bytes]]]:
    return cast(faust.Stream[bytes], stream).take_events(BATCH_MAX, within=BATCH_WITHIN_S)


@dataclass(frozen=True)
class Scorecards:
    """The scorecards context registered on one app (tables exposed for tests and views)."""

    referrals: _StateTable
    partners: _StateTable
    facts_topic: str
    stats_topic: str
    closed: ClosedRefs

    def aggregate(self, partner_id: str) -> PartnerAggregate | None:
        value = self.partners.get(partner_id.encode())
        return value if isinstance(value, PartnerAggregate) else None


def register_scorecards(app: faust.App, settings: Settings) -> Scorecards:
    """Declare the scorecards topics, tables and agents on ``app``."""
    referrals_topic = app.topic(
        settings.topic("referrals"), key_serializer="raw", value_serializer="raw"
    )
    facts = app.topic(
        settings.topic("scorecard-facts"),
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
        internal=True,
    )
    facts_name = settings.topic("scorecard-facts")
    stats_name = settings.topic("partner-stats")
    refs = _StateTable(
        app, "scorecards-referrals", settings, _JsonCodec(ref_to_json, ref_from_json)
    )
    partners = _StateTable(
        app, "scorecards-partners", settings, _JsonCodec(aggregate_to_json, aggregate_from_json)
    )
    closed = ClosedRefs(settings.closed_retention_s)

    async def on_recovered() -> None:
        n = closed.rebuild(
            list(refs.table.data.items()),
            time.time(),
            lambda key: fact_partition(key, settings.partitions),
        )
        log.info("scorecards: %d closed referrals to forget after the retention", n)

    refs.table.on_recover(on_recovered)

    async def forward(events: Sequence[EventT[bytes]]) -> None:
        producer_send = app.producer.send
        facts: list[LedgerFact] = []
        for event in events:
            msg = event.message
            try:
                fact = fact_from_record(msg.value, msg.headers)
            except InvalidEvent as exc:  # the ledger's owner dead-letters it; we skip it
                log.warning(
                    "scorecards: skipped invalid ledger record %s[%d]@%d: %s %s",
                    msg.topic, msg.partition, msg.offset, exc.reason, str(exc)[:200],
                )  # fmt: skip
                continue
            if fact is not None:
                facts.append(fact)
        for key, value in routed_packs(facts):
            await producer_send(facts_name, key, value, None, None, None)

    async def fold(events: Sequence[EventT[bytes]]) -> None:
        producer_send = app.producer.send
        now = time.time()
        for partition, rkey in closed.due(now):
            if is_closed(refs.get(rkey)):
                await refs.delete(producer_send, partition, rkey)
        touched: dict[bytes, tuple[int, PartnerAggregate, bool]] = {}
        for event in events:
            msg = event.message
            try:
                copies = unpack(msg.value)
            except ValueError as exc:
                log.warning(
                    "scorecards: skipped bad facts %s[%d]@%d: %s",
                    msg.topic, msg.partition, msg.offset, exc,
                )  # fmt: skip
                continue
            for index, (role, fact) in enumerate(copies):
                seq = msg.offset * PACK_MAX + index  # increases along the partition
                partner = fact.partner(role)
                pkey = partner.encode()
                rkey = pkey + b"/" + fact.referral_id.encode()
                seen = touched.get(pkey)
                if seen is not None:
                    agg, changed = seen[1], seen[2]
                else:
                    agg, changed = partners.get(pkey) or PartnerAggregate(partner), False
                new_ref, new_agg = apply(refs.get(rkey), agg, fact, role, seq)
                if new_ref is not None:
                    await refs.put(producer_send, msg.partition, rkey, new_ref)
                    if is_closed(new_ref):
                        closed.closed(rkey, msg.partition, now)
                if new_agg is not agg or seq <= agg.seq or seen is not None:
                    touched[pkey] = (msg.partition, new_agg, changed or new_agg is not agg)
        for pkey, (partition, agg, changed) in touched.items():
            if changed:
                await partners.put(producer_send, partition, pkey, agg)
            value, headers = snapshot_record(agg)
            await producer_send(stats_name, pkey, value, None, None, headers)

    def batched(
        body: Callable[[Sequence[EventT[bytes]]], Awaitable[None]],
    ) -> Callable[[StreamT[bytes]], Awaitable[None]]:
        async def agent(stream: StreamT[bytes]) -> None:
            async for events in _batches(stream):
                # take_events acknowledges a batch whose body failed or was cancelled: withhold
                # those acks, so a half-folded batch is read again (the fold is idempotent).
                with unacked_if_failed(app.consumer, [e.message for e in events]):
                    await body(events)

        return agent

    app.agent(referrals_topic, name="scorecard-facts", concurrency=1)(batched(forward))
    app.agent(facts, name="scorecard-fold", concurrency=1)(batched(fold))
    return Scorecards(refs, partners, facts_name, stats_name, closed)
