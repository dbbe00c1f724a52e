"""The subscriber client against the real API: resume after a drop, end on revocation.

Receiving, accepting and winning a lead routed by the real worker: test_api_e2e.py.
"""

from __future__ import annotations

import asyncio

import pytest

from connectors.client import OppbusClient, OppbusError
from tests.integration.api.conftest import Harness

pytestmark = pytest.mark.kafka

OTHER_CUSTOMER = {"company": "Globex Secret", "domain": "globex.example", "contacts": []}


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
