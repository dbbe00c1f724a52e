"""The API forgets a closed opportunity after ``closed_retention_s``, as the workers do: its memory
holds what is open plus the retention's worth of history, however long it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas.common import Money
from schemas.referrals import ReferralWon
from streams.settings import Settings
from tests.integration.api.conftest import Harness, harness_with, opportunity
from tests.integration.polling import wait_for

pytestmark = pytest.mark.kafka

CUSTOMER = opportunity()["customer"]
RETENTION_S = 2.0


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Harness]:
    async for harness in harness_with(settings, closed_retention_s=RETENTION_S):
        yield harness


async def test_a_won_opportunity_is_forgotten_after_the_retention_and_an_open_one_stays(
    api: Harness,
) -> None:
    nw = await api.register("northwind", capabilities=["networking"])
    contoso = await api.register("contoso")
    for oid in ("nw-won", "nw-open"):
        resp = await api.client.post("/v1/opportunities", json=opportunity(opportunity_id=oid),
                                     headers=nw)  # fmt: skip
        assert resp.status == 202
    won = await api.offer("northwind", "nw-won", "contoso")
    still_open = await api.offer("northwind", "nw-open", "contoso")
    await api.accepted(won, CUSTOMER)
    amount = Money(amount=Decimal("250000.00"), currency="USD")
    await api.emit(
        ReferralWon(
            referral_id=won.referral_id, opportunity_id="nw-won", originator="northwind",
            partner_id="contoso", amount=amount, won_at=datetime.now(UTC),
        )
    )  # fmt: skip
    lead = await api.client.get(f"/v1/leads/{won.referral_id}", headers=contoso)
    assert lead.status == 200 and (await lead.json())["status"] == "won"  # within the retention

    async def forgotten() -> bool:
        return (await api.client.get("/v1/opportunities/nw-won", headers=nw)).status == 404

    await wait_for(forgotten, RETENTION_S + 10, every=0.2, what="the won opportunity forgotten")
    assert (await api.client.get(f"/v1/leads/{won.referral_id}", headers=contoso)).status == 404
    leads = (await (await api.client.get("/v1/leads", headers=contoso)).json())["leads"]
    assert [x["referral_id"] for x in leads] == [still_open.referral_id]  # open: it stays
    assert (await api.client.get("/v1/opportunities/nw-open", headers=nw)).status == 200
    assert api.state.views.forgotten == 1
