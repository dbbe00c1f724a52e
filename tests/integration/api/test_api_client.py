"""The subscriber client against the real API: receive a lead, accept it, see the customer."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from connectors.client import OppbusClient, OppbusError, subscribe
from connectors.http.models import Lead
from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka

OTHER_CUSTOMER = {"company": "Globex Secret", "domain": "globex.example", "contacts": []}


async def _next(leads: asyncio.Queue[Lead]) -> Lead:
    async with asyncio.timeout(10):
        return await leads.get()


async def test_subscriber_receives_accepts_and_sees_the_customer_only_its_own(
    api: Harness,
) -> None:
    base = str(api.client.make_url("")).rstrip("/")
    nw_key = (await api.register("northwind", capabilities=["networking"]))["Authorization"][7:]
    contoso_key = (await api.register("contoso"))["Authorization"][7:]
    await api.register("fabrikam")
    northwind = OppbusClient(base, nw_key)
    contoso = OppbusClient(base, contoso_key, wait_s=10)
    mine = opportunity()
    theirs = opportunity(opportunity_id="nw-0002", customer=OTHER_CUSTOMER)
    router = asyncio.create_task(
        api.stand_in_router({"nw-0001": mine["customer"], "nw-0002": OTHER_CUSTOMER})
    )
    received: asyncio.Queue[Lead] = asyncio.Queue()

    async def listen() -> None:
        async for lead in subscribe(base, contoso_key, reconnect_delay_s=0.1):
            await received.put(lead)

    listener = asyncio.create_task(listen())
    try:
        assert (await northwind.publish(mine)).opportunity_id == "nw-0001"
        assert (await northwind.publish(theirs, idempotency_key="k2")).opportunity_id == "nw-0002"
        offer = await api.offer("northwind", "nw-0001", "contoso")
        other = await api.offer("northwind", "nw-0002", "fabrikam")

        lead = await _next(received)
        assert lead.referral_id == offer.referral_id and lead.status == "offered"
        assert lead.customer is None and lead.teaser.industry == "healthcare"

        accepted = await contoso.accept(lead.referral_id)
        assert accepted.status == "accepted" and accepted.customer is not None
        assert accepted.customer.company == "Acme Health"
        assert accepted.customer.contacts[0].email == "dana@acme-health.example"
        streamed = [await _next(received), await _next(received)]
        assert streamed[-1].customer is not None and streamed[-1].status == "accepted"

        # nothing of fabrikam's lead or the other customer is reachable with contoso's key
        assert [x.referral_id for x in await contoso.leads()] == [offer.referral_id]
        for call in (
            contoso.lead(other.referral_id),
            contoso.accept(other.referral_id),
            contoso.decline(other.referral_id, "not_a_fit"),
            contoso.opportunity("nw-0002"),
        ):
            with pytest.raises(OppbusError) as err:
                await call
            assert err.value.status == 404 and "Globex" not in str(err.value)
        assert received.empty()  # fabrikam's offer never reached contoso's stream

        # an illegal step is refused with its code; the lead is unchanged
        with pytest.raises(OppbusError) as err:
            await contoso.decline(offer.referral_id, "timing")
        assert err.value.status == 409 and err.value.code == "illegal_transition"
        with pytest.raises(OppbusError) as err:
            await contoso.outcome(offer.referral_id, "won")
        assert err.value.status == 422 and {e["field"] for e in err.value.errors} == {
            "amount",
            "currency",
        }
        # the originator sees the routing state
        view = await northwind.opportunity("nw-0001")
        assert view.status == "accepted" and view.offers[0].partner_id == "contoso"
    finally:
        for task in (listener, router):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await northwind.close()
        await contoso.close()


async def test_subscription_resumes_after_a_drop_and_ends_on_revocation(api: Harness) -> None:
    base = str(api.client.make_url("")).rstrip("/")
    await api.register("northwind", capabilities=["networking"])
    key = (await api.register("contoso"))["Authorization"][7:]
    first = await api.offer("northwind", "nw-0001", "contoso")
    client = OppbusClient(base, key)
    sub = client.subscribe(reconnect_delay_s=0.1)
    try:
        async with asyncio.timeout(10):
            async for lead in sub:
                assert lead.referral_id == first.referral_id
                break
        resume_from = sub.last_event_id
        assert resume_from
        second = await api.offer("northwind", "nw-0002", "contoso")
        again = client.subscribe(last_event_id=resume_from)
        async with asyncio.timeout(10):
            async for lead in again:
                assert lead.referral_id == second.referral_id  # only what came after
                break
        # revoking the key ends the stream: the reconnect is refused with 401
        resumed = client.subscribe(last_event_id=again.last_event_id, reconnect_delay_s=0.1)
        revoke = await api.client.delete("/v1/partners/contoso/api-key", headers=api.admin)
        assert revoke.status == 204
        with pytest.raises(OppbusError) as err:
            async with asyncio.timeout(10):
                async for _ in resumed:
                    pass
        assert err.value.status == 401
    finally:
        await client.close()
