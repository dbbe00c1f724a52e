"""End to end through the HTTP API with the real worker (router + scorecards) on the broker.

A networking reseller publishes a storage opportunity over HTTP; the router offers it to the
storage specialist; the specialist's subscriber client receives the lead, accepts it, sees the
customer and reports the deal won; the originator sees the routing state and both scorecards move.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from connectors.client import OppbusClient, OppbusError
from connectors.http.models import Lead
from schemas.scorecard import PartnerScorecard
from streams.runtime.app import create_app
from streams.wiring import register_all
from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka

GLOBEX = {"company": "Globex Secret", "domain": "globex.example", "contacts": []}


async def _leads_of(client: OppbusClient) -> list[Lead]:
    """The client's first lead(s), as soon as the router offered one (read over SSE)."""
    async with contextlib.aclosing(aiter(client.subscribe())) as leads:
        async for lead in leads:
            return [lead]
    return []


async def test_lead_routed_by_the_worker_reaches_the_subscriber_who_wins_it(api: Harness) -> None:
    base = str(api.client.make_url("")).rstrip("/")
    keys = {}
    for pid, caps in (
        ("northwind", ["networking"]),
        ("contoso", ["storage", "backup"]),
        ("fabrikam", ["security"]),
    ):
        keys[pid] = (await api.register(pid, capabilities=caps))["Authorization"][7:]
    worker = create_app(api.settings)
    register_all(worker, api.settings)
    await worker.start()
    northwind = OppbusClient(base, keys["northwind"])
    contoso = OppbusClient(base, keys["contoso"], wait_s=15)
    fabrikam = OppbusClient(base, keys["fabrikam"])
    received: asyncio.Queue[Lead] = asyncio.Queue()

    async def listen() -> None:
        async for lead in contoso.subscribe(reconnect_delay_s=0.1):
            await received.put(lead)

    listener = asyncio.create_task(listen())
    try:
        accepted = await northwind.publish(opportunity(), idempotency_key="crm-42")
        assert accepted.opportunity_id == "nw-0001"
        secret = opportunity(opportunity_id="nw-0002", needs=["security"], customer=GLOBEX)
        await northwind.publish(secret)  # routed to fabrikam only
        async with asyncio.timeout(30):
            lead = await received.get()
        assert lead.status == "offered" and lead.customer is None
        assert lead.teaser.needs == ("storage",) and lead.reasons and lead.score > 0
        async with asyncio.timeout(30):
            (theirs,) = await _leads_of(fabrikam)

        revealed = await contoso.accept(lead.referral_id)
        assert revealed.status == "accepted" and revealed.customer is not None
        assert revealed.customer.company == "Acme Health"
        assert revealed.customer.contacts[0].email == "dana@acme-health.example"
        async with asyncio.timeout(10):
            while (streamed := await received.get()).customer is None:
                assert streamed.status == "accepted"
        assert streamed.customer.company == "Acme Health"

        # nothing of fabrikam's lead or its customer is reachable with contoso's key
        assert [x.referral_id for x in await contoso.leads()] == [lead.referral_id]
        for call in (
            contoso.lead(theirs.referral_id),
            contoso.accept(theirs.referral_id),
            contoso.decline(theirs.referral_id, "not_a_fit"),
            contoso.opportunity("nw-0002"),
        ):
            with pytest.raises(OppbusError) as err:
                await call
            assert err.value.status == 404 and "Globex" not in str(err.value)
        # an illegal step is refused with its code; a bad body names the fields
        with pytest.raises(OppbusError) as err:
            await contoso.decline(lead.referral_id, "timing")
        assert err.value.status == 409 and err.value.code == "illegal_transition"
        with pytest.raises(OppbusError) as err:
            await contoso.outcome(lead.referral_id, "won")
        assert err.value.status == 422
        assert {e["field"] for e in err.value.errors} == {"amount", "currency"}

        won = await contoso.outcome(lead.referral_id, "won", amount="240000.00", currency="USD")
        assert won.status == "won" and won.outcome is not None

        view = await northwind.opportunity("nw-0001")
        assert view.status == "won"
        assert [(o.partner_id, o.status) for o in view.offers] == [("contoso", "won")]
        assert [x.referral_id for x in await fabrikam.leads()] == [theirs.referral_id]
        with pytest.raises(OppbusError) as err:
            await fabrikam.lead(lead.referral_id)
        assert err.value.status == 404
        while not received.empty():  # contoso's stream carried contoso's lead only
            assert received.get_nowait().referral_id == lead.referral_id

        stats = api.state.views.stats
        async with asyncio.timeout(20):  # the scorecards context publishes on partner-stats
            await api.state.readmodel.wait_until(
                lambda: "contoso" in stats and stats["contoso"].won == 1
            )
        resp = await api.client.get(
            "/v1/partners/contoso/scorecard", headers=api.bearer(keys["contoso"])
        )
        card = PartnerScorecard.model_validate(await resp.json())
        assert card.won == 1 and card.accepted == 1
        assert str(card.revenue_won["USD"]) == "240000.00"
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        for client in (northwind, contoso, fabrikam):
            await client.close()
        await worker.stop()
