"""Fault 4: a poison message of each kind on the worker's inputs.

Not JSON, wrong schema, unknown type, oversized, illegal transition: each is dead-lettered with
its reason and where it came from, the worker stays alive, and its offset moves on (a valid
opportunity published after the poison on the same partition is offered).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas.codec import MAX_EVENT_BYTES, encode
from schemas.events import DeadLetter, ReportOutcome, event_key
from schemas.referrals import OfferMade
from streams.record_auth import RecordAuth
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.bus import make_opportunity, offers_of, partner_profiles, publish, read_topic
from tests.faults.figures import report_figures
from tests.faults.procs import WorkerPool

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

SOURCE = "urn:oppbus:fault-suite"


def _ce(ce_type: str, ce_id: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_source", SOURCE.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_time", datetime.now(UTC).isoformat().encode()),
        ("content-type", b"application/json"),
    ]


async def _send_raw(settings: Settings, records: list[tuple[str, bytes, bytes, list]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", max_request_size=4 * 2**20
    )
    auth = RecordAuth.from_settings(settings)  # poison the bus itself wrote: past the MAC check
    await producer.start()
    try:
        for topic, key, value, headers in records:
            full = settings.topic(topic)
            signed = auth.stamp(full, key, value, headers)
            await producer.send_and_wait(full, value, key=key, headers=signed)
    finally:
        await producer.stop()


async def test_each_kind_of_poison_is_dead_lettered_and_the_worker_goes_on(
    settings: Settings, workers: WorkerPool, unique: str
) -> None:
    await ensure_topics(settings)
    await publish(settings, partner_profiles(3))
    worker = await asyncio.to_thread(workers.add)
    first = make_opportunity(1, run=unique)
    key = event_key(first)
    await publish(settings, [first])
    offers = offers_of(
        await read_topic(settings, "referrals", done=lambda r: bool(offers_of(r)), within=60)
    )
    assert offers, "the worker never offered the first opportunity"
    offer = offers[0]

    published = "io.oppbus.opportunity.published.v1"
    good = encode(first, source=SOURCE)
    bad_schema = orjson.dumps({**orjson.loads(good.value), "needs": [], "region": "nowhere"})
    won = ReportOutcome(  # offered -> won skips "accepted": an illegal transition
        referral_id=offer.referral_id,
        opportunity_id=first.opportunity_id,
        originator=first.originator,
        partner_id=offer.partner_id,
        status="won",
        amount={"amount": "1000.00", "currency": "USD"},
        requested_at=datetime.now(UTC),
    )
    illegal = encode(won, source=SOURCE, id="poison-illegal")
    poison = {
        "not_json": ("opportunities", b"\x00{not json", _ce(published, "poison-json")),
        "schema": ("opportunities", bad_schema, _ce(published, "poison-schema")),
        "unknown_type": ("opportunities", good.value, _ce("io.oppbus.nope.v9", "poison-type")),
        "too_large": (
            "opportunities",
            b'{"pad": "' + b"x" * (MAX_EVENT_BYTES + 1000) + b'"}',
            _ce(published, "poison-size"),
        ),
        "illegal_transition": ("responses", illegal.value, illegal.headers),
    }
    started = time.monotonic()
    await _send_raw(settings, [(t, key, v, h) for t, v, h in poison.values()])
    after = make_opportunity(2, run=unique)
    await publish(settings, [after])  # same originator, its own key: offered iff the worker lives

    def dead_letters(records: list) -> dict[str, DeadLetter]:
        found = {}
        for record in records:
            env = record.envelope
            if env is not None and isinstance(env.event, DeadLetter) and env.event.event_id:
                found[env.event.event_id] = env.event
        return found

    wanted = {h[1][1].decode() for _, _, h in poison.values()}
    dlq = await read_topic(
        settings, "deadletter", done=lambda r: wanted <= set(dead_letters(r)), within=60
    )
    ledger = await read_topic(
        settings,
        "referrals",
        done=lambda r: any(o.opportunity_key.endswith(after.opportunity_id) for o in offers_of(r)),
        within=60,
    )
    recovered = time.monotonic() - started
    workers.check_alive()
    letters = dead_letters(dlq)
    reasons = {event_id: letter.reason for event_id, letter in letters.items()}
    report_figures(
        "poison messages",
        events=len(poison),
        dead_lettered=len(wanted & set(letters)),
        lost=len(wanted - set(letters)),
        recovered_s=round(recovered, 1),
        reasons=reasons,
    )
    assert wanted <= set(letters), f"not dead-lettered: {wanted - set(letters)}; got {reasons}"
    for kind, (topic, _, headers) in poison.items():
        letter = letters[headers[1][1].decode()]
        assert letter.source_topic == settings.topic(topic)
        assert letter.offset >= 0 and letter.reason, letter
        if kind != "illegal_transition":
            assert letter.reason == kind, (kind, letter.reason, letter.detail)
        else:
            assert "transition" in (letter.reason + letter.detail), letter
    assert any(
        isinstance(r.envelope.event, OfferMade)
        and r.envelope.event.opportunity_id == after.opportunity_id
        for r in ledger
        if r.envelope is not None
    ), "the opportunity published after the poison was never offered"
    assert worker.running()
