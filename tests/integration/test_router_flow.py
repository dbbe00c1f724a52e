"""The bus routes for real: offers, re-offers, deadlines, reveal, outcome, on the embedded broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.codec import decode, encode
from schemas.events import (
    AcceptReferral,
    DeclineReferral,
    LeadRevealed,
    OfferMade,
    OpportunityWithdrawn,
    ReferralDeclined,
    ReferralExpired,
    ReferralWithdrawn,
    ReferralWon,
    ReportOutcome,
)
from streams.runtime.app import create_app
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from streams.wiring import register_all
from tests.integration.bus_kit import Bus, opportunity, partner

pytestmark = pytest.mark.kafka

STORAGE_PARTNERS = {"storeco", "vaultco"}


def _partners() -> list:
    return [
        partner("netco", ["networking"], competitors=("rivalco",)),
        partner("storeco", ["storage"]),
        partner("vaultco", ["storage"]),
        partner("bigco", ["storage", "networking"]),  # competes: offers what netco retains
        partner("rivalco", ["storage"]),  # netco's declared competitor
    ]


def _about(offer: OfferMade) -> dict:
    return {
        "referral_id": offer.referral_id,
        "opportunity_id": offer.opportunity_id,
        "originator": offer.originator,
        "partner_id": offer.partner_id,
        "requested_at": datetime.now(UTC),
    }


async def test_storage_opportunity_waterfall_decline_expiry_accept_and_win(
    settings: Settings,
) -> None:
    await ensure_topics(settings)
    app = create_app(settings)
    contexts = register_all(app, settings)
    async with Bus(settings) as bus:
        await bus.publish(*_partners())
        await app.start()
        try:
            # decline -> re-offer to the next storage specialist
            await bus.publish(opportunity("netco", "opp-1"))
            (first,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="opp-1"))
            assert first.partner_id in STORAGE_PARTNERS
            assert "customer" not in first.model_dump() and first.teaser.needs == ("storage",)
            await bus.publish(DeclineReferral(**_about(first), reason="timing"))
            offers = await bus.wait_for(
                lambda: (
                    len(bus.of(OfferMade, opportunity_id="opp-1")) == 2
                    and bus.of(OfferMade, opportunity_id="opp-1")
                )
            )
            second = offers[1]
            assert {first.partner_id, second.partner_id} == STORAGE_PARTNERS
            assert second.round == 2 and bus.of(ReferralDeclined, partner_id=first.partner_id)

            # accept -> the customer is revealed to that partner only; won -> ledger
            await bus.publish(AcceptReferral(**_about(second)))
            (lead,) = await bus.wait_for(lambda: bus.of(LeadRevealed, opportunity_id="opp-1"))
            assert lead.partner_id == second.partner_id
            assert lead.customer.company == "Customer of opp-1"
            await bus.publish(
                ReportOutcome(
                    **_about(second), status="won", amount={"amount": "98000.00", "currency": "USD"}
                )
            )
            (won,) = await bus.wait_for(lambda: bus.of(ReferralWon, opportunity_id="opp-1"))
            assert str(won.amount.amount) == "98000.00"
            # the scorecards of both partners, as the router reads them back from partner-stats
            card = contexts.stats.scorecard
            await bus.wait_for(
                lambda: card("netco").given_won == 1 and card(second.partner_id).won == 1
            )
            assert {k: str(v) for k, v in card(second.partner_id).revenue_won.items()} == {
                "USD": "98000.00"
            }
            assert card(first.partner_id).declined == 1
            assert contexts.stats.partner(second.partner_id).won == 1

            # expiry -> re-offer, within a few seconds of the deadline
            await bus.publish(opportunity("netco", "opp-2", respond_within_s=1))
            (first2,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="opp-2"))
            (expired,) = await bus.wait_for(
                lambda: bus.of(ReferralExpired, opportunity_id="opp-2"), within_s=10
            )
            assert expired.partner_id == first2.partner_id
            assert (expired.expired_at - first2.expires_at).total_seconds() < 4
            offers2 = await bus.wait_for(
                lambda: (
                    len(bus.of(OfferMade, opportunity_id="opp-2")) == 2
                    and bus.of(OfferMade, opportunity_id="opp-2")
                )
            )
            assert {o.partner_id for o in offers2} == STORAGE_PARTNERS

            # the originator withdraws: the open offer is closed as withdrawn
            await bus.publish(
                OpportunityWithdrawn(
                    opportunity_id="opp-2", originator="netco", withdrawn_at=datetime.now(UTC)
                )
            )
            (gone,) = await bus.wait_for(lambda: bus.of(ReferralWithdrawn, opportunity_id="opp-2"))
            assert gone.partner_id == offers2[1].partner_id
        finally:
            await app.stop()
    offered_to = {e.partner_id for e in bus.of(OfferMade)}
    assert offered_to <= STORAGE_PARTNERS  # never bigco (competes), never rivalco (competitor)
    assert [e.partner_id for e in bus.of(LeadRevealed)] == [second.partner_id]


async def test_malformed_event_and_illegal_transition_are_dead_lettered_and_the_stream_goes_on(
    settings: Settings,
) -> None:
    await ensure_topics(settings)
    app = create_app(settings)
    register_all(app, settings)
    async with Bus(settings) as bus:
        await bus.publish(*_partners())
        await app.start()
        try:
            headers = encode(opportunity("netco", "bad"), source="tests").headers
            await bus.send_raw("opportunities", b"netco/bad", b"{not json", headers, signed=True)
            await bus.publish(opportunity("netco", "opp-ok"))
            (offer,) = await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="opp-ok"))
            await bus.publish(DeclineReferral(**_about(offer), reason="not_a_fit"))
            await bus.wait_for(lambda: bus.of(ReferralDeclined, opportunity_id="opp-ok"))
            # accepting a declined offer is illegal: dead-lettered with the reason, nothing changes
            await bus.publish(AcceptReferral(**_about(offer)))
            await bus.publish(opportunity("netco", "opp-next"))
            await bus.wait_for(lambda: bus.of(OfferMade, opportunity_id="opp-next"))
            dead = await bus.wait_for(
                lambda: len(bus.seen["deadletter"]) >= 2 and bus.seen["deadletter"]
            )
        finally:
            await app.stop()
    records = [decode(m.value, m.headers).event for m in dead]
    assert [r.reason for r in records] == ["not_json", "illegal_transition"]
    assert records[0].value == "{not json" and records[0].source_topic.endswith(".opportunities")
    assert "from declined to accepted" in records[1].detail
    assert records[1].event_id is not None
    assert not bus.of(LeadRevealed, opportunity_id="opp-ok")
