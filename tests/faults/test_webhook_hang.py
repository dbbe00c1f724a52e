"""Fault 5: one partner's webhook endpoint hangs; routing and the other partners' webhooks go on.

A real worker routes a stream of opportunities to two partners: ``store-000`` has a webhook that
never answers, ``store-001`` one that answers at once. Every opportunity is still offered, and the
answering partner keeps receiving its leads, signed, while the other one hangs.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.webhooks.signing import generate_secret
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.bus import publish
from tests.faults.figures import report_figures
from tests.faults.procs import WorkerPool
from tests.faults.scenario import Scenario
from tests.integration.test_webhooks_delivery import subscription
from tests.integration.webhook_helpers import Receiver

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

COUNT = 1000


async def test_a_hanging_webhook_stalls_neither_routing_nor_other_partners(
    settings: Settings, workers: WorkerPool, unique: str
) -> None:
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"ok": secret, "hang": secret})
    await receiver.start()
    try:
        workers.env = {
            "OPPBUS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "OPPBUS_WEBHOOK_TIMEOUT_S": "30",
        }
        await publish(
            settings,
            [
                subscription("store-000", f"{receiver.url}/hang", secret),
                subscription("store-001", f"{receiver.url}/ok", secret),
            ],
        )
        scenario = Scenario(
            settings, unique, count=COUNT, partners=2, deadline_every=0, health=workers.check_alive
        )
        await scenario.seed()
        await asyncio.to_thread(workers.add)
        started = time.monotonic()
        acked, elapsed = await scenario.stream()
        outcome = await scenario.verify(acked, elapsed, within=120)
        await receiver.wait_for(lambda hits: sum(h.path == "ok" for h in hits) >= 20, 60)
        ok_hits = [h for h in receiver.hits if h.path == "ok"]
        hang_answered = any(h.path == "hang" for h in receiver.hits)  # before stop() releases it
        workers.check_alive()
    finally:
        await receiver.stop()
    report_figures(
        "a webhook endpoint hangs",
        events=COUNT,
        **outcome.report.figures(),
        delivered_to_the_other_partner=len(ok_hits),
        recovered_s=round(time.monotonic() - started, 1),
    )
    assert outcome.report.ok, (outcome.report.summary(), outcome.lost_detail)
    assert ok_hits and all(h.verified for h in ok_hits)
    assert not hang_answered  # the hanging endpoint was still holding its first delivery
