"""Scorecards in a Faust worker: ledger -> partner-keyed facts -> tables -> ``partner-stats``.

Two agents (concurrency 1, faust-streaming issue 606), both batched with ``take_events`` and
sending bytes straight to ``app.producer.send`` (``docs/upstream/faust-throughput.md``):

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
from typing import cast

import faust
from faust.types import EventT, StreamT

from schemas.errors import InvalidEvent
from streams.record_auth import RecordAuth
from streams.runtime import ChangelogWriter, json_table, unacked_if_failed
from streams.scorecards.facts import PACK_MAX, facts_from_record, routed_packs, unpack
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


def _batches(stream: StreamT[bytes]) -> AsyncIterator[Sequence[EventT[bytes]]]:
    return cast(faust.Stream[bytes], stream).take_events(BATCH_MAX, within=BATCH_WITHIN_S)


@dataclass(frozen=True)
class Scorecards:
    """The scorecards context registered on one app (tables exposed for tests and views)."""

    referrals: ChangelogWriter
    partners: ChangelogWriter
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
    # Written by streams.runtime.ChangelogWriter, with the fact's own partition (co-partitioned):
    # Faust's table[key] = value queues each change in the producer buffer, and takes the partition
    # from the batch's last event, not necessarily this one's.
    refs = json_table(
        app,
        "scorecards-referrals",
        partitions=settings.partitions,
        to_json=ref_to_json,
        from_json=ref_from_json,
    )
    partners = json_table(
        app,
        "scorecards-partners",
        partitions=settings.partitions,
        to_json=aggregate_to_json,
        from_json=aggregate_from_json,
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

    auth = RecordAuth.from_settings(settings)

    async def forward(events: Sequence[EventT[bytes]]) -> None:
        producer_send = app.producer.send
        facts: list[LedgerFact] = []
        for event in events:
            msg = event.message
            try:
                auth.check(msg.topic, msg.key, msg.value, msg.headers)  # a forged ledger fact
                found = facts_from_record(msg.value, msg.headers, trusted=True)  # MAC checked
            except InvalidEvent as exc:  # the ledger's owner dead-letters it; we skip it
                log.warning(
                    "scorecards: skipped invalid ledger record %s[%d]@%d: %s %s",
                    msg.topic, msg.partition, msg.offset, exc.reason, str(exc)[:200],
                )  # fmt: skip
                continue
            facts.extend(found)
        for key, value in routed_packs(facts):
            await producer_send(facts_name, key, value, None, None, None)

    async def fold(events: Sequence[EventT[bytes]]) -> None:
        producer_send = app.producer.send
        now = time.time()
        for partition, rkey in closed.due(now):
            if is_closed(refs.get(rkey)):
                await refs.delete(producer_send, rkey, partition)
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
                    await refs.put(producer_send, rkey, new_ref, msg.partition)
                    if is_closed(new_ref):
                        closed.closed(rkey, msg.partition, now)
                if new_agg is not agg or seq <= agg.seq or seen is not None:
                    touched[pkey] = (msg.partition, new_agg, changed or new_agg is not agg)
        for pkey, (partition, agg, changed) in touched.items():
            if changed:
                await partners.put(producer_send, pkey, agg, partition)
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
