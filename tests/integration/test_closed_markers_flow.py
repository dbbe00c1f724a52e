"""On the embedded broker: a closed opportunity's row shrinks to a marker (in the table and on its
changelog), answers late inputs as before, and is tombstoned when its retention ends; the
scorecards forget the closed referral after the same retention and keep its figures."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.events import AcceptReferral, OfferMade, ReferralWon, ReportOutcome
from streams.offers.store import decode_row
from streams.runtime.app import create_app
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from streams.wiring import register_all
from tests.integration.bus_kit import Bus, opportunity, partner

pytestmark = pytest.mark.kafka

RETENTION_S = 4.0
KEY = b"netco/won-1"


def _about(offer: OfferMade) -> dict:
    return {
        "referral_id": offer.referral_id,
        "opportunity_id": offer.opportunity_id,
        "originator": offer.originator,
        "partner_id": offer.partner_id,
        "requested_at": datetime.now(UTC),
    }


async def _changelog_of(settings: Settings, topic: str, key: bytes) -> list[bytes | None]:
    """The values of ``key`` on the table's changelog, in order, up to its tombstone (reading on
    until it shows: Tansu's end offsets can be below the last record)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        values: list[bytes | None] = []
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=100)
            values += [m.value for msgs in batch.values() for m in msgs if m.key == key]
            if values and values[-1] is None:
                break
        return values
    finally:
        await consumer.stop()


async def test_a_won_opportunity_becomes_a_marker_answers_repeats_and_is_tombstoned(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"closed_retention_s": RETENTION_S})
    await ensure_topics(settings)
    app = create_app(settings)
    contexts = register_all(app, settings)
    table = contexts.router.table
    won = {"status": "won", "amount": {"amount": "98000.00", "currency": "USD"}}
    async with Bus(settings) as bus:
        await bus.publish(partner("netco", ["networking"]), partner("storeco", ["storage"]))
        await app.start()
        try:
            await bus.publish(opportunity("netco", "won-1"))
            (offer,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="won-1"))
            await bus.publish(AcceptReferral(**_about(offer)))
            await bus.publish(ReportOutcome(**_about(offer), **won))
            (first,) = await bus.wait_for(lambda: bus.of(ReferralWon, opportunity_id="won-1"))
            row = decode_row(table.data[KEY], KEY)
            assert row.closed and len(table.data[KEY]) < 150

            # within the retention: a repeated outcome replays the very same event, publishing
            # the opportunity again offers nothing, another opportunity is routed as usual
            await bus.publish(ReportOutcome(**_about(offer), **won))
            await bus.publish(opportunity("netco", "won-1"), opportunity("netco", "next-1"))
            repeats = await bus.wait_for(
                lambda: (
                    len(bus.of(ReferralWon, opportunity_id="won-1")) == 2
                    and bus.of(ReferralWon, opportunity_id="won-1")
                )
            )
            assert repeats == [first, first]
            await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="next-1"))
            assert len(bus.of(OfferMade, opportunity_id="won-1")) == 1

            # the retention ends: the marker is deleted from the table and tombstoned
            await bus.wait_for(lambda: KEY not in table.data, within_s=RETENTION_S + 15)
            assert KEY not in contexts.router.deadlines

            # the scorecards counted the win once (the replay was a duplicate), then forget the
            # referral (both partners' views) at their next batch past the retention
            refs = contexts.scorecards.referrals.table.data
            card = contexts.stats.scorecard
            await bus.wait_for(lambda: card("storeco").won == 1 and card("netco").given_won == 1)
            assert {k for k in refs if offer.referral_id.encode() in k} == {
                b"storeco/" + offer.referral_id.encode(),
                b"netco/" + offer.referral_id.encode(),
            }
            ours = [e[0] for e in contexts.scorecards.closed if offer.referral_id in str(e)]
            await asyncio.sleep(max(0.0, max(ours) - time.time()))  # the fold's forget time
            await bus.publish(opportunity("netco", "next-2"))  # a batch for the fold to run
            await bus.wait_for(
                lambda: not [k for k in refs if offer.referral_id.encode() in k], within_s=15
            )
            assert contexts.scorecards.aggregate("storeco").won == 1
        finally:
            await app.stop()
    mine = await _changelog_of(settings, table.changelog_topic.get_topic_name(), KEY)
    assert mine[-1] is None  # the tombstone: a recovery drops the row
    marker = mine[-2]
    assert marker is not None and decode_row(marker, KEY).closed and len(marker) < 150
    assert len(mine[0] or b"") > 1000  # the open row, with the whole opportunity
