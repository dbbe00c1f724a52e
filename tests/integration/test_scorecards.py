"""Scorecards on the real embedded broker: ledger in, partner-stats snapshots out, idempotent,
and a restarted worker continuing from its tables."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.codec import decode, encode
from schemas.common import Contract, Money
from schemas.events import event_key
from schemas.ids import referral_id
from schemas.samples import example
from schemas.scorecard import PartnerScorecard
from streams.record_auth import RecordAuth
from streams.runtime.app import create_app
from streams.runtime.topic_admin import ensure_topics
from streams.scorecards.agents import register_scorecards
from streams.settings import Settings
from tests.integration.polling import wait_for

pytestmark = pytest.mark.kafka

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NET, STOR, BACK = "netco", "storix", "backupco"


def ledger(status: str, opp: str, partner: str, minutes: float, **extra: Any) -> Contract:
    """A ledger event built from the contract's example of that type."""
    name = "offered" if status == "offered" else status
    base = example(f"io.oppbus.referral.{name}.v1")
    at = T0 + timedelta(minutes=minutes)
    fields: dict[str, Any] = {
        "referral_id": referral_id(NET, opp, partner),
        "opportunity_id": opp,
        "originator": NET,
        "partner_id": partner,
        f"{status}_at": at,
        **extra,
    }
    if status == "offered":
        fields["expires_at"] = at + timedelta(days=2)
    return base.model_copy(update=fields)


def won(opp: str, partner: str, minutes: float, amount: str, currency: str = "USD") -> Contract:
    return ledger("won", opp, partner, minutes, amount=Money(amount=amount, currency=currency))


async def publish(settings: Settings, events: list[Contract]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    auth = RecordAuth.from_settings(settings)
    topic = settings.topic("referrals")
    try:
        for event in events:
            encoded = encode(event, source="urn:test")
            key = event_key(event)
            await producer.send_and_wait(
                topic, encoded.value, key=key,
                headers=auth.stamp(topic, key, encoded.value, encoded.headers),
            )  # fmt: skip
    finally:
        await producer.stop()


class Snapshots:
    """Follows partner-stats; keeps every snapshot per partner, in order."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = AIOKafkaConsumer(
            settings.topic("partner-stats"),
            bootstrap_servers=settings.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.seen: dict[str, list[dict[str, Any]]] = {}

    async def __aenter__(self) -> Snapshots:
        try:
            await self.consumer.start()
        except BaseException:  # __aexit__ does not run when __aenter__ fails
            await self.consumer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    def last(self, partner: str) -> dict[str, Any] | None:
        cards = self.seen.get(partner)
        return cards[-1] if cards else None

    async def until(self, partner: str, revision: int, wait_s: float = 60.0) -> dict[str, Any]:
        """The partner's first snapshot at ``revision`` or beyond."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            for card in self.seen.get(partner, []):
                if card["revision"] >= revision:
                    return card
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for rec in records:
                    # every snapshot is a bus event honouring the contract
                    assert isinstance(decode(rec.value, rec.headers).event, PartnerScorecard)
                    self.seen.setdefault(rec.key.decode(), []).append(orjson.loads(rec.value))
        raise AssertionError(
            f"no snapshot of {partner} at revision {revision}: {self.last(partner)}"
        )


async def drained(settings: Settings, wait_s: float = 60.0) -> None:
    """Wait until the worker has committed everything on the ledger, then on the fact topic."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.app_id,
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        for name in (settings.topic("referrals"), settings.topic("scorecard-facts")):
            await _committed_to_the_end(consumer, name, settings.partitions, wait_s)
    finally:
        await consumer.stop()


async def _committed_to_the_end(
    consumer: AIOKafkaConsumer, topic: str, partitions: int, within: float
) -> None:
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ends = await consumer.end_offsets(tps)

    async def caught_up() -> bool:  # committed offsets can only be polled
        for tp in tps:
            if ends[tp] and (await consumer.committed(tp) or 0) < ends[tp]:
                return False
        return True

    await wait_for(caught_up, within, what=f"the worker committing {topic} to its end")


def figures(card: dict[str, Any]) -> dict[str, Any]:
    keys = ("given", "given_accepted", "given_won", "received", "accepted", "declined",
            "expired", "won", "lost", "withdrawn", "open_offers", "active", "revenue_won",
            "revenue_from_given", "acceptance_rate", "win_rate", "mean_seconds_to_accept",
            "median_seconds_to_accept", "reciprocity", "revision")  # fmt: skip
    return {k: card[k] for k in keys}


FIRST = [
    ledger("offered", "o1", STOR, 0),
    ledger("offered", "o2", STOR, 1),
    ledger("offered", "o3", BACK, 2),
    ledger("accepted", "o1", STOR, 10),
    ledger("declined", "o2", STOR, 20, reason="not_a_fit"),
    ledger("accepted", "o3", BACK, 62),
    won("o1", STOR, 100, "1250.50"),
    example("io.oppbus.lead.revealed.v1"),  # not a referral step: skipped
]


async def start_worker(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    context = register_scorecards(app, settings)
    await app.start()
    return app, context


async def test_ledger_in_snapshots_out_idempotent_and_restartable(settings: Settings) -> None:
    await ensure_topics(settings)
    app, _ = await start_worker(settings)
    try:
        async with Snapshots(settings) as snaps:
            await publish(settings, FIRST)
            storix = await snaps.until(STOR, 5)  # o1: offered, accepted, won; o2: offered, declined
            netco = await snaps.until(NET, 7)  # the giver's view of the same 7 steps
            backup = await snaps.until(BACK, 2)
            assert figures(storix) | {"reciprocity": None} == {
                "given": 0, "given_accepted": 0, "given_won": 0, "received": 2, "accepted": 1,
                "declined": 1, "expired": 0, "won": 1, "lost": 0, "withdrawn": 0,
                "open_offers": 0, "active": 0, "revenue_won": {"USD": "1250.50"},
                "revenue_from_given": {}, "acceptance_rate": 0.5, "win_rate": 1.0,
                "mean_seconds_to_accept": 600.0, "median_seconds_to_accept": 600.0,
                "reciprocity": None, "revision": 5,
            }  # fmt: skip
            assert storix["reciprocity"] == [
                {"partner_id": NET, "given": 0, "received": 2, "given_accepted": 0,
                 "received_accepted": 1},
            ]  # fmt: skip
            assert (netco["given"], netco["given_accepted"], netco["given_won"]) == (3, 2, 1)
            assert netco["revenue_from_given"] == {"USD": "1250.50"} and netco["received"] == 0
            assert (backup["open_offers"], backup["active"]) == (0, 1)
            assert backup["mean_seconds_to_accept"] == 3600.0

            # every ledger event delivered again: nothing changes, then one new fact counts once
            before = {p: figures(snaps.last(p) or {}) for p in (STOR, NET, BACK)}
            await publish(settings, [*FIRST, ledger("offered", "o4", STOR, 200)])
            await drained(settings)
            storix = await snaps.until(STOR, 6)
            netco = await snaps.until(NET, 8)
            assert storix["received"] == 3 and storix["open_offers"] == 1
            assert storix["revenue_won"] == {"USD": "1250.50"} and storix["won"] == 1
            for partner in (STOR, NET, BACK):
                now = figures(snaps.last(partner) or {})
                changed = {k for k in now if now[k] != before[partner][k]}
                expected = {
                    STOR: {"received", "open_offers", "reciprocity", "revision"},
                    NET: {"given", "reciprocity", "revision"},
                    BACK: set(),
                }[partner]
                assert changed == expected, (partner, changed)
                assert now["revision"] == before[partner]["revision"] + (
                    0 if partner == BACK else 1
                )
    finally:
        await app.stop()

    # a restarted worker (same app id: same group and changelogs) continues from its tables
    app, context = await start_worker(settings)
    try:
        async with Snapshots(settings) as snaps:
            await publish(settings, [won("o3", BACK, 300, "99.99", "EUR")])
            backup = await snaps.until(BACK, 3)
            netco = await snaps.until(NET, 9)
        assert (backup["received"], backup["accepted"], backup["won"]) == (1, 1, 1)
        assert backup["revenue_won"] == {"EUR": "99.99"} and backup["active"] == 0
        assert backup["mean_seconds_to_accept"] == 3600.0  # the offer time came from the table
        assert (netco["given"], netco["given_accepted"], netco["given_won"]) == (4, 2, 2)
        assert netco["revenue_from_given"] == {"EUR": "99.99", "USD": "1250.50"}
        aggregate = context.aggregate(STOR)  # recovered from the changelog, not re-folded
        assert aggregate is not None and (aggregate.received, aggregate.won) == (3, 1)
    finally:
        await app.stop()
