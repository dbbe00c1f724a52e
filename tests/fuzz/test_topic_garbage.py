"""Hypothesis-generated garbage on the worker's input topics: never a crash, always a dead letter.

Random bytes, random JSON, valid CloudEvents headers over wrong bodies, and random headers are
written to ``opportunities`` and ``responses`` while a real ``oppbus worker`` runs, half of them
with the bus's MAC (so the decoder, not only the MAC check, meets them). Each record
must come back on the dead-letter topic (matched by its topic, partition and offset), the worker
must stay up, and a valid opportunity written after the garbage must still be offered.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schemas.events import EVENT_TYPES, DeadLetter
from streams.record_auth import RecordAuth
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.bus import make_opportunity, offers_of, partner_profiles, publish, read_topic
from tests.faults.procs import WorkerPool

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

# JSON numbers orjson can write (it refuses integers beyond 64 bits: the generator itself failed)
_INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
JSON = st.recursive(
    st.none() | st.booleans() | _INTS | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
CE_TYPES = st.sampled_from([*EVENT_TYPES, "io.oppbus.nope.v1", ""])


@st.composite
def ce_headers(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    stamp = draw(st.sampled_from([datetime.now(UTC).isoformat(), "yesterday", ""]))
    return [
        ("ce_specversion", draw(st.sampled_from([b"1.0", b"0.3", b""]))),
        ("ce_id", draw(st.binary(min_size=0, max_size=20))),
        ("ce_source", b"urn:fuzz"),
        ("ce_type", draw(CE_TYPES).encode()),
        ("ce_time", stamp.encode()),
    ]


VALUES = st.one_of(
    st.binary(max_size=400),
    JSON.map(orjson.dumps),
    st.dictionaries(
        st.sampled_from(["opportunity_id", "needs", "region", "referral_id"]), JSON
    ).map(orjson.dumps),
)
HEADERS = st.one_of(
    ce_headers(),
    st.lists(st.tuples(st.text(max_size=12), st.binary(max_size=30)), max_size=4),
)
RECORDS = st.tuples(st.sampled_from(["opportunities", "responses"]), VALUES, HEADERS)


def _garbage() -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    drawn: list[tuple[str, bytes, list[tuple[str, bytes]]]] = []

    @hsettings(max_examples=25, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(RECORDS, min_size=1, max_size=4))
    def collect(records: list) -> None:
        drawn.extend(records)

    collect()
    return drawn


async def test_garbage_on_the_input_topics_is_dead_lettered_and_the_worker_lives(
    settings: Settings, workers: WorkerPool, unique: str
) -> None:
    garbage = _garbage()
    await ensure_topics(settings)
    await publish(settings, partner_profiles(2))
    await asyncio.to_thread(workers.add)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    sent: set[tuple[str, int, int]] = set()
    auth = RecordAuth.from_settings(settings)
    try:
        for i, (topic, value, headers) in enumerate(garbage):
            full, key = settings.topic(topic), f"origin-net/fuzz-{i}".encode()
            if i % 2 == 0:  # half as if the bus wrote it: past the MAC check, into the decoder
                headers = auth.stamp(full, key, value, headers)
            meta = await producer.send_and_wait(full, value, key=key, headers=headers)
            sent.add((meta.topic, meta.partition, meta.offset))
    finally:
        await producer.stop()
    after = make_opportunity(1, run=unique)
    await publish(settings, [after])

    def lettered(records: list) -> set[tuple[str, int, int]]:
        out = set()
        for r in records:
            env = r.envelope
            if env is not None and isinstance(env.event, DeadLetter):
                out.add((env.event.source_topic, env.event.partition, env.event.offset))
        return out

    dlq = await read_topic(
        settings, "deadletter", done=lambda r: sent <= lettered(r), within=90,
        health=workers.check_alive,
    )  # fmt: skip
    ledger = await read_topic(
        settings, "referrals", done=lambda r: bool(offers_of(r)), within=60,
        health=workers.check_alive,
    )  # fmt: skip
    workers.check_alive()
    missing = sent - lettered(dlq)
    assert not missing, f"{len(missing)} of {len(sent)} garbage records not dead-lettered"
    assert any(o.opportunity_key.endswith(after.opportunity_id) for o in offers_of(ledger))
