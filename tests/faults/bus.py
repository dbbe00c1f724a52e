"""Fault-injection harness, Kafka side: seed partners, stream opportunities, read the ledger.

Everything goes through the bus's own codec (``schemas.codec``), with acks from every replica: an
opportunity counts as *acknowledged* only once the broker confirmed it, and only acknowledged
opportunities are expected on the ledger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.codec import Envelope, InvalidEvent, decode, encode
from schemas.common import Contract, Money
from schemas.events import event_key, event_topic
from schemas.opportunity import Customer, Opportunity
from schemas.partner import PartnerProfile
from schemas.referrals import OfferMade
from streams.record_auth import RecordAuth
from streams.runtime import refresh_metadata
from streams.runtime.end_offsets import end_offsets as real_end_offsets
from streams.settings import Settings
from tests.faults.ledger import OfferRecord

__all__ = [
    "Record",
    "end_offsets",
    "make_opportunity",
    "offers_of",
    "partner_profiles",
    "publish",
    "read_topic",
]

SOURCE = "urn:oppbus:fault-suite"


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @cached_property
    def envelope(self) -> Envelope | None:
        """The decoded event, None when it is not a valid bus event (computed once)."""
        try:
            return decode(self.value or b"", self.headers)
        except InvalidEvent:
            return None


def partner_profiles(
    count: int, *, capability: str = "storage", region: str = "US"
) -> list[PartnerProfile]:
    """``count`` storage partners serving ``region`` (ids ``store-000``...), plus the networking
    reseller ``origin-net`` that originates every opportunity; capacity is never the limit."""
    now = datetime.now(UTC)
    ids = [f"store-{i:03d}" for i in range(count)]
    return [
        PartnerProfile(
            partner_id=pid,
            name=f"Storage partner {pid}",
            kind="reseller",
            capabilities=(capability, "backup"),
            regions=(region,),
            accepting=True,
            capacity=100_000,
            version=1,
            updated_at=now,
        )
        for pid in ids
    ] + [
        PartnerProfile(
            partner_id="origin-net",
            name="Networking originator",
            kind="reseller",
            capabilities=("networking",),
            regions=(region,),
            capacity=100_000,
            version=1,
            updated_at=now,
        )
    ]


def make_opportunity(
    index: int,
    *,
    run: str,
    respond_within_s: int | None = None,
    max_partners: int = 1,
    originator: str = "origin-net",
) -> Opportunity:
    """Opportunity ``index`` of a run: its own customer domain, so no conflict is flagged."""
    return Opportunity(
        opportunity_id=f"{run}-{index:06d}",
        originator=originator,
        needs=("storage",),
        retains=("networking",),
        region="US-CA",
        industry="healthcare",
        deal_size=Money(amount=Decimal("50000.00"), currency="USD"),
        expected_close=date.today() + timedelta(days=90),
        customer=Customer(company=f"Customer {index}", domain=f"c{index}-{run}.example.com"),
        max_partners=max_partners,
        respond_within_s=respond_within_s,
        published_at=datetime.now(UTC),
    )


async def publish(
    settings: Settings,
    events: Sequence[Contract],
    *,
    rate: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    tolerate: bool = False,
) -> list[str]:
    """Publish ``events`` (each on its own topic, with its key) at about ``rate`` per second.

    Returns the keys the broker acknowledged, in order. ``on_progress(n)`` is called after every
    acknowledged batch, so a test can inject a fault in the middle of the stream. With
    ``tolerate``, a send the broker refused or never acknowledged is left out instead of raising
    (the broker may be down on purpose).
    """
    settings.install_data_keys()  # encrypt with the workers' data keys (they run elsewhere)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
    )
    acked: list[str] = []
    batch = max(1, int(rate / 10)) if rate else 200
    started = time.monotonic()
    auth = RecordAuth.from_settings(settings)
    try:
        await producer.start()
        for first in range(0, len(events), batch):
            chunk = events[first : first + batch]
            futures = []
            for event in chunk:
                enc = encode(event, source=SOURCE)
                key = event_key(event)
                topic = settings.topic(event_topic(event))
                headers = auth.stamp(topic, key, enc.value, enc.headers)
                try:
                    fut = await producer.send(topic, enc.value, key=key, headers=headers)
                except KafkaError:
                    if not tolerate:
                        raise
                    continue  # never acknowledged: not expected on the ledger
                futures.append((key, fut))
            for key, fut in futures:
                try:
                    await fut  # the broker's acknowledgement
                except KafkaError:
                    if not tolerate:
                        raise
                    continue
                acked.append((key or b"").decode())
            if on_progress is not None:
                on_progress(len(acked))
            if rate:
                ahead = (first + len(chunk)) / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    finally:
        await producer.stop()
    return acked


async def end_offsets(settings: Settings, name: str) -> int:
    """Sum of the end offsets of a bus topic: how many records it holds so far."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        topic = settings.topic(name)
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await refresh_metadata(consumer)  # first call on a fresh client
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        return sum((await real_end_offsets(consumer, tps)).values())
    finally:
        await consumer.stop()


async def read_topic(
    settings: Settings,
    name: str,
    *,
    done: Callable[[list[Record]], bool],
    within: float,
    settle: float = 2.0,
    health: Callable[[], None] | None = None,
) -> list[Record]:
    """Every record of a bus topic from the beginning, until ``done(records)`` holds and nothing
    new arrived for ``settle`` seconds (late redeliveries are counted too), or ``within`` s.
    ``health()`` is called on every poll: it raises to stop early (e.g. a worker died)."""
    settings.install_data_keys()  # to read what the workers encrypted
    topic = settings.topic(name)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    records: list[Record] = []
    try:
        await consumer.start()
        await refresh_metadata(consumer)
        parts = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
        deadline = time.monotonic() + within
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            if health is not None:
                health()
            batch = await consumer.getmany(timeout_ms=300, max_records=5000)
            for tp, msgs in batch.items():
                for m in msgs:
                    headers = tuple((k, bytes(v)) for k, v in (m.headers or ()))
                    records.append(Record(tp.partition, m.offset, m.key, m.value, headers))
            if batch:
                last_new = time.monotonic()
            elif time.monotonic() - last_new >= settle and done(records):
                break
    finally:
        await consumer.stop()
    return records


def offers_of(records: Sequence[Record]) -> list[OfferRecord]:
    """The ``referral.offered`` events of ledger records, as checker records."""
    out: list[OfferRecord] = []
    for record in records:
        env = record.envelope
        if env is None or not isinstance(env.event, OfferMade):
            continue
        offer = env.event
        out.append(
            OfferRecord(
                opportunity_key=f"{offer.originator}/{offer.opportunity_id}",
                partner_id=offer.partner_id,
                referral_id=offer.referral_id,
                round=offer.round,
                event_id=env.id,
            )
        )
    return out
