"""Fault: kill -9 of the worker in the middle of a redrive; the lead is still delivered once.

A real ``oppbus worker`` delivers a lead to an endpoint that fails: the delivery dies. The operator's
redrive (a MAC-stamped record on ``webhook-redrives``, as the API writes it) reaches the worker,
whose POST the endpoint holds without answering; the worker is killed with SIGKILL (no commit, no
record). A new worker picks the redrive up again and the endpoint, fixed now, receives the lead:
one 2xx in all, the same ``webhook-id``, and the delivery log says dead, then delivered by redrive 1.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from connectors.webhooks.signing import generate_secret
from schemas.webhooks import WebhookDelivery, WebhookRedrive
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.procs import WorkerPool
from tests.integration.test_webhooks_delivery import offer, subscription
from tests.integration.webhook_helpers import Receiver, publish, read_until

pytestmark = [pytest.mark.kafka, pytest.mark.faults]


def _records(events: list) -> list[tuple[int, str]]:
    return [(e.redrive, e.outcome) for e in events if isinstance(e, WebhookDelivery)]


async def test_a_redrive_interrupted_by_kill_9_delivers_once(
    settings: Settings, workers: WorkerPool
) -> None:
    await ensure_topics(settings)
    secret = generate_secret()
    receiver = Receiver(secrets={"switch": secret})
    await receiver.start()
    workers.env = {
        "OPPBUS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "OPPBUS_WEBHOOK_MAX_ATTEMPTS": "2",
        "OPPBUS_WEBHOOK_BACKOFF_BASE_S": "0.05",
        "OPPBUS_WEBHOOK_BACKOFF_MAX_S": "0.1",
        "OPPBUS_WEBHOOK_TIMEOUT_S": "120",
    }
    lead = offer("vault-storage")
    wid = f"{lead.referral_id}.offered"
    try:
        await publish(settings, subscription("vault-storage", f"{receiver.url}/switch", secret))
        first = await asyncio.to_thread(workers.add)
        await publish(settings, lead)
        try:
            dead = await read_until(
                settings, "webhook-deliveries", lambda ev: bool(_records(ev)), 60
            )
        except TimeoutError:
            raise AssertionError(
                f"no delivery record; receiver saw {[h.status for h in receiver.hits]}; "
                f"workers said:\n{workers.complaints()}"
            ) from None
        assert _records(dead) == [(0, "dead")]

        receiver.holding = True  # the redrive's POST arrives and is never answered
        asked = WebhookRedrive(
            webhook_id=wid, partner_id="vault-storage", redrive=1, requested_at=datetime.now(UTC)
        )
        await publish(settings, asked)
        await receiver.wait_for(lambda hits: any(h.status == 0 for h in hits), 60)
        first.kill()  # kill -9 in the middle of the redrive: nothing settled, nothing committed

        receiver.holding, receiver.failing = False, False  # the partner fixed its endpoint
        await asyncio.to_thread(workers.add)
        done = await read_until(
            settings, "webhook-deliveries", lambda ev: len(_records(ev)) >= 2, 90
        )
        await asyncio.sleep(2.0)  # a second delivery, were one made, would arrive now
        workers.check_alive()
    finally:
        await receiver.stop()
    assert _records(done) == [(0, "dead"), (1, "delivered")]
    assert [h.status for h in receiver.hits] == [500, 500, 0, 200]
    assert {h.webhook_id for h in receiver.hits} == {wid}
    assert all(h.verified for h in receiver.hits)
    assert receiver.hits[-1].body == receiver.hits[0].body
