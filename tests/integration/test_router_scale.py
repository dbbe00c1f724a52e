"""Two workers share the partitions; a worker started late rebuilds its tables from the changelog."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from schemas.events import DeclineReferral, OfferMade, ReferralDeclined, ReferralExpired
from streams.runtime.app import create_app
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from streams.wiring import register_all
from tests.integration.bus_kit import Bus, opportunity, partner

pytestmark = pytest.mark.kafka


def _partners() -> list:
    return [
        partner("netco", ["networking"]),
        *(partner(f"store{i}", ["storage"], capacity=100_000) for i in range(4)),
    ]


def _offers_by_opportunity(bus: Bus) -> dict[str, set[str]]:
    return bus.offered


async def test_two_workers_share_partitions_and_route_each_opportunity_once(
    settings: Settings,
) -> None:
    await ensure_topics(settings)
    apps = [create_app(settings) for _ in range(2)]
    contexts = [register_all(app, settings) for app in apps]
    async with Bus(settings) as bus:
        await bus.publish(*_partners())
        await asyncio.gather(*(app.start() for app in apps))
        try:
            n = 200
            await bus.publish(*(opportunity("netco", f"o{i}") for i in range(n)))
            await bus.wait_for(lambda: len(_offers_by_opportunity(bus)) == n, within_s=30)
            await asyncio.sleep(0.5)  # a late duplicate offer would show up here
        finally:
            await asyncio.gather(*(app.stop() for app in apps))
    offers = _offers_by_opportunity(bus)
    assert all(len(refs) == 1 for refs in offers.values())  # exactly once as seen by partners
    processed = [c.router.processed for c in contexts]
    assert all(p > 0 for p in processed), processed  # both workers took a share
    assert sum(processed) >= n


@pytest.mark.slow
async def test_a_worker_started_after_10k_opportunities_rebuilds_and_routes(
    settings: Settings,
) -> None:
    await ensure_topics(settings)
    n = 10_000
    first = create_app(settings)
    register_all(first, settings)
    async with Bus(settings) as bus:
        await bus.publish(*_partners())
        await first.start()
        try:
            await bus.publish(*(opportunity("netco", f"o{i}") for i in range(n)))
            await bus.wait_for(lambda: len(_offers_by_opportunity(bus)) == n, within_s=120)
            # its deadline passes while no worker runs: the late worker must still expire it
            await bus.publish(opportunity("netco", "short", respond_within_s=3))
            await bus.wait_for(lambda: bus.offered.get("short"))
        finally:
            await first.stop()
        before = sum(len(refs) for refs in bus.offered.values())

        late = create_app(settings)
        contexts = register_all(late, settings)
        await late.start()
        try:
            # the rebuilt row of o7 knows its offer: a decline re-offers to another partner
            (offer,) = bus.of(OfferMade, opportunity_id="o7")
            await bus.publish(
                DeclineReferral(
                    referral_id=offer.referral_id,
                    opportunity_id="o7",
                    originator="netco",
                    partner_id=offer.partner_id,
                    reason="timing",
                    requested_at=datetime.now(UTC),
                ),
                opportunity("netco", "o8"),  # published again: nothing changes, no second lead
                opportunity("netco", "fresh"),
            )
            await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="fresh"), within_s=30)
            reoffer = await bus.wait_for(
                lambda: [o for o in bus.of(OfferMade, opportunity_id="o7") if o.round == 2]
            )
            assert reoffer[0].partner_id != offer.partner_id
            assert bus.of(ReferralDeclined, opportunity_id="o7")
            await bus.wait_for(lambda: bus.of(ReferralExpired, opportunity_id="short"))
            await bus.wait_for(lambda: len(bus.offered["short"]) == 2)
        finally:
            await late.stop()
    assert len(contexts.directory.directory) == 5
    # the repeat replays the very same offer event (same id and times): one lead for the partner
    o8 = bus.of(OfferMade, opportunity_id="o8")
    assert len(bus.offered["o8"]) == 1 and all(e == o8[0] for e in o8)
    assert sum(len(refs) for refs in bus.offered.values()) == before + 3
