"""The operator redrives a dead webhook delivery: the real API, dispatcher, broker and receiver.

A receiver that fails until it is fixed: the lead's delivery dies, the operator sees it in
``GET /v1/admin/webhook-deliveries?status=dead``, asks for a redrive (twice), and the receiver gets
the lead once, with the same ``webhook-id`` and body. A fresh consumer group re-reading the whole
log afterwards (what a worker does after a crash before committing) delivers nothing again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connectors.webhooks.dispatcher import WebhookDispatcher
from ops.cli import main
from schemas.webhooks import WebhookDelivery, WebhookRedrive
from tests.integration.api.conftest import ADMIN_TOKEN, Harness
from tests.integration.polling import wait_for
from tests.integration.webhook_helpers import (
    LIST,
    Receiver,
    dead_lead,
    listed,
    read_until,
    redrive_hooks,
)

pytestmark = pytest.mark.kafka
hooks = redrive_hooks


async def _cli(h: Harness, capsys: Any, *argv: str) -> tuple[int, str, str]:
    """``oppbus webhooks ...`` against the API under test (in a thread: it blocks)."""
    base = str(h.client.make_url("")).rstrip("/")
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["webhooks", "--api", base, "--admin-token", ADMIN_TOKEN, *argv]
    )
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_dead_delivery_is_redriven_once(hooks: Harness, capsys: Any) -> None:
    receiver = Receiver(secrets={})
    await receiver.start()
    try:
        wid, _ = await dead_lead(hooks, receiver)
        [dead] = await listed(hooks, "?status=dead&partner_id=vault-storage")
        assert dead["status"] == "dead" and dead["redrive"] == 0 and dead["redrive_asked"] == 0
        assert dead["source"]["topic"] == "referrals"
        assert await listed(hooks, "?partner_id=someone-else") == []
        assert [h.status for h in receiver.hits] == [500, 500]

        listing = await _cli(hooks, capsys, "dead", "--partner", "vault-storage")
        assert (
            listing[0] == 0 and wid in listing[1] and "2 attempt(s), last: HTTP 500" in listing[1]
        )
        asked = await _cli(hooks, capsys, "redrive", wid)  # the operator's command
        assert asked[0] == 0 and f"redrive #1 of {wid} asked" in asked[1]
        url = f"{LIST}/{wid}/redrive"
        again = await hooks.client.post(url, headers=hooks.admin)  # asked twice: the same
        assert again.status == 202, await again.text()
        assert await again.json() == {
            "webhook_id": wid, "partner_id": "vault-storage", "redrive": 1, "status": "redriving"
        }  # fmt: skip
        [redriving] = await listed(hooks, "?status=redriving")
        assert redriving["webhook_id"] == wid and redriving["redrive_asked"] == 1
        on_log = await read_until(hooks.settings, "webhook-redrives", lambda ev: len(ev) >= 1)
        assert [(e.webhook_id, e.redrive) for e in on_log if isinstance(e, WebhookRedrive)] == [
            (wid, 1)
        ]

        receiver.failing = False  # the partner fixed its endpoint
        dispatcher = WebhookDispatcher(hooks.settings)
        await dispatcher.start()
        try:

            async def delivered() -> bool:
                return [d["webhook_id"] for d in await listed(hooks, "?status=delivered")] == [wid]

            await wait_for(delivered, within=20, what="the redriven delivery")
        finally:
            await dispatcher.stop()
        [done] = await listed(hooks)
        assert done["redrive"] == 1 and done["outcome"] == "delivered"
        assert [a["status"] for a in done["attempts"]] == [500, 500, 200]
        assert done["first_settled_at"] == dead["settled_at"]  # its place in the list is kept
        refused = await hooks.client.post(url, headers=hooks.admin)
        assert refused.status == 409 and (await refused.json())["error"] == "delivered"
        code, _, err = await _cli(hooks, capsys, "redrive", wid)
        assert code == 1 and "409" in err and "delivered, not dead" in err

        # a new consumer group reads the whole log again (a crash before any commit): nothing
        # is delivered twice, the redrive is not carried out again
        replay = WebhookDispatcher(hooks.settings.model_copy(update={"app_id": "replayed"}))
        await replay.start()
        try:
            both = {hooks.settings.topic(t) for t in ("referrals", "webhook-redrives")}

            def reread() -> bool:
                done = {tp.topic for tp in replay.offsets.committed_offsets()}
                return both <= done and replay.offsets.pending() == 0

            await wait_for(reread, within=15, what="the log re-read and committed")
        finally:
            await replay.stop()
    finally:
        await receiver.stop()

    ok = [h for h in receiver.hits if h.status < 300]
    assert len(ok) == 1 and ok[0].webhook_id == wid and ok[0].verified
    assert ok[0].body == receiver.hits[0].body  # the very same body as the first attempts
    assert ok[0].headers["ce-type"] == "io.oppbus.referral.offered.v1"
    records = await read_until(
        hooks.settings, "webhook-deliveries", lambda ev: len(ev) >= 2, within=10
    )
    deliveries = [(e.redrive, e.outcome) for e in records if isinstance(e, WebhookDelivery)]
    assert deliveries == [(0, "dead"), (1, "delivered")]
