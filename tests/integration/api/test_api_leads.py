"""Contract tests: leads, the lead stream, and accept/decline/outcome by the holder only."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from connectors.http.models import CommandAccepted, ErrorBody, Lead, LeadList
from schemas.codec import decode
from schemas.scorecard import PartnerScorecard, empty_scorecard
from tests.integration.api.conftest import Harness, opportunity

pytestmark = pytest.mark.kafka

CUSTOMER = opportunity()["customer"]


async def _setup(api: Harness):
    nw = await api.register("northwind", capabilities=["networking"])
    contoso = await api.register("contoso")
    fabrikam = await api.register("fabrikam")
    await api.client.post("/v1/opportunities", json=opportunity(), headers=nw)
    offer = await api.offer("northwind", "nw-0001", "contoso")
    return nw, contoso, fabrikam, offer


async def _responses(api: Harness) -> list[object]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        api.settings.topic("responses"),
        bootstrap_servers=api.settings.bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        return [decode(r.value, r.headers).event for rs in batches.values() for r in rs]  # type: ignore[arg-type]
    finally:
        await consumer.stop()


async def test_leads_are_the_callers_only_and_hide_the_customer_until_accepted(
    api: Harness,
) -> None:
    _, contoso, fabrikam, offer = await _setup(api)
    body = LeadList.model_validate(
        await (await api.client.get("/v1/leads", headers=contoso)).json()
    )
    assert [lead.referral_id for lead in body.leads] == [offer.referral_id]
    lead = body.leads[0]
    assert lead.status == "offered" and lead.customer is None and lead.score == 87.5
    raw = await (await api.client.get("/v1/leads", headers=contoso)).text()
    assert "Acme" not in raw and "acme-health" not in raw
    assert (await (await api.client.get("/v1/leads", headers=fabrikam)).json())["leads"] == []
    mine = await api.client.get(f"/v1/leads/{offer.referral_id}", headers=contoso)
    assert mine.status == 200
    theirs = await api.client.get(f"/v1/leads/{offer.referral_id}", headers=fabrikam)
    assert theirs.status == 404 and "healthcare" not in await theirs.text()
    assert (await api.client.get("/v1/leads?status=bogus", headers=contoso)).status == 400
    assert (await api.client.get("/v1/leads", headers=api.admin)).status == 403
    await api.accepted(offer, CUSTOMER)
    lead = Lead.model_validate(
        await (await api.client.get(f"/v1/leads/{offer.referral_id}", headers=contoso)).json()
    )
    assert lead.status == "accepted" and lead.customer is not None
    assert lead.customer.company == "Acme Health"


async def test_accept_publishes_a_command_keyed_by_opportunity(api: Harness) -> None:
    _, contoso, _, offer = await _setup(api)
    before = await api.end_offsets()
    resp = await api.client.post(f"/v1/referrals/{offer.referral_id}/accept", headers=contoso)
    assert resp.status == 202
    CommandAccepted.model_validate(await resp.json())
    after = await api.end_offsets()
    assert after["responses"] == before["responses"] + 1
    assert {k: v for k, v in after.items() if k != "responses"} == {
        k: v for k, v in before.items() if k != "responses"
    }
    [command] = await _responses(api)
    assert type(command).__name__ == "AcceptReferral"
    assert command.referral_id == offer.referral_id and command.partner_id == "contoso"  # type: ignore[attr-defined]


async def test_refused_responses_publish_nothing(api: Harness) -> None:
    nw, contoso, fabrikam, offer = await _setup(api)
    url = f"/v1/referrals/{offer.referral_id}"
    before = await api.end_offsets()
    cases = [
        ("accept", {}, {}, 401),
        ("accept", {}, {"Authorization": "Bearer opb_0_bad"}, 401),
        ("accept", {}, fabrikam, 404),  # another partner's lead: not even its existence
        ("accept", {}, nw, 404),  # the originator does not hold the referral
        ("decline", {"reason": "because"}, contoso, 422),
        ("decline", {}, contoso, 422),
        ("outcome", {"status": "won", "amount": "10.00", "currency": "EUR"}, contoso, 409),
        ("outcome", {"status": "won"}, contoso, 422),
        ("outcome", {"status": "lost", "amount": "1.00"}, contoso, 422),
        ("outcome", {"status": "tied"}, contoso, 422),
        ("outcome", {"status": "won", "amount": "10.00", "currency": "ABC"}, contoso, 422),
    ]
    for verb, body, headers, status in cases:
        resp = await api.client.post(f"{url}/{verb}", json=body, headers=headers)
        assert resp.status == status, (verb, body, await resp.text())
        err = ErrorBody.model_validate(await resp.json())
        if status == 422:
            assert err.errors and all(e.field for e in err.errors)
    resp = await api.client.post(f"{url}/outcome", json={"status": "won"}, headers=contoso)
    assert {e.field for e in ErrorBody.model_validate(await resp.json()).errors} == {
        "amount",
        "currency",
    }
    bad = {"status": "won", "amount": "10.00", "currency": "ABC"}
    resp = await api.client.post(f"{url}/outcome", json=bad, headers=contoso)
    assert [(e.field, e.type) for e in ErrorBody.model_validate(await resp.json()).errors] == [
        ("currency", "iso4217_currency")
    ]
    resp = await api.client.post(f"{url}/decline", json={"reason": "because"}, headers=contoso)
    assert [e.field for e in ErrorBody.model_validate(await resp.json()).errors] == ["reason"]
    resp = await api.client.post(f"{url}/accept", data=b"x" * 10_000, headers=contoso)
    assert resp.status == 413
    resp = await api.client.post(
        f"{url}/decline", data=b"{", headers={**contoso, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert await api.end_offsets() == before


async def test_illegal_transitions_are_409_and_repeats_are_no_ops(api: Harness) -> None:
    _, contoso, _, offer = await _setup(api)
    url = f"/v1/referrals/{offer.referral_id}"
    await api.declined(offer)
    before = await api.end_offsets()
    resp = await api.client.post(f"{url}/accept", headers=contoso)
    assert resp.status == 409
    assert ErrorBody.model_validate(await resp.json()).error == "illegal_transition"
    again = await api.client.post(f"{url}/decline", json={"reason": "timing"}, headers=contoso)
    assert again.status == 200 and (await again.json())["status"] == "declined"
    won = await api.client.post(
        f"{url}/outcome",
        json={"status": "won", "amount": "1.00", "currency": "USD"},
        headers=contoso,
    )
    assert won.status == 409
    assert await api.end_offsets() == before


async def test_an_expired_offer_cannot_be_accepted(api: Harness) -> None:
    await api.register("northwind", capabilities=["networking"])
    contoso = await api.register("contoso")
    offer = await api.offer("northwind", "nw-0001", "contoso", ttl_s=0.05)
    await asyncio.sleep(0.1)  # the deadline passes before the router's expiry event
    before = await api.end_offsets()
    resp = await api.client.post(f"/v1/referrals/{offer.referral_id}/accept", headers=contoso)
    assert resp.status == 409 and "expired" in (await resp.json())["message"]
    assert await api.end_offsets() == before


async def test_outcome_after_acceptance(api: Harness) -> None:
    _, contoso, _, offer = await _setup(api)
    await api.accepted(offer, CUSTOMER)
    before = await api.end_offsets()
    resp = await api.client.post(
        f"/v1/referrals/{offer.referral_id}/outcome",
        json={"status": "won", "amount": "240000.00", "currency": "USD"},
        headers=contoso,
    )
    assert resp.status == 202
    assert (await api.end_offsets())["responses"] == before["responses"] + 1
    [command] = await _responses(api)
    assert command.status == "won" and str(command.amount.amount) == "240000.00"  # type: ignore[attr-defined]


async def test_scorecard_is_own_or_admin(api: Harness) -> None:
    _, contoso, fabrikam, _ = await _setup(api)
    resp = await api.client.get("/v1/partners/contoso/scorecard", headers=contoso)
    assert resp.status == 200
    card = PartnerScorecard.model_validate(await resp.json())
    assert card == empty_scorecard("contoso")  # no partner-stats record yet: all zeros
    stats = card.model_copy(update={"revision": 2, "received": 1, "open_offers": 1})
    await api.emit_to("partner-stats", stats)
    resp = await api.client.get("/v1/partners/contoso/scorecard", headers=contoso)
    assert PartnerScorecard.model_validate(await resp.json()) == stats
    stale = stats.model_copy(update={"revision": 1, "received": 0})
    await api.emit_to("partner-stats", stale)  # an older snapshot never replaces a newer one
    resp = await api.client.get("/v1/partners/contoso/scorecard", headers=contoso)
    assert PartnerScorecard.model_validate(await resp.json()) == stats
    assert (await api.client.get("/v1/partners/contoso/scorecard", headers=fabrikam)).status == 403
    assert (await api.client.get("/v1/partners/contoso/scorecard", headers=api.admin)).status == 200
    assert (await api.client.get("/v1/partners/nobody/scorecard", headers=api.admin)).status == 404


async def _events(resp, n: int) -> list[tuple[str, dict]]:
    """Read ``n`` SSE lead events: (id, data)."""
    out: list[tuple[str, dict]] = []
    event_id, data = "", b""
    async with asyncio.timeout(10):
        while len(out) < n:
            line = await resp.content.readline()
            if line.startswith(b"id: "):
                event_id = line[4:].strip().decode()
            elif line.startswith(b"data: "):
                data = line[6:].strip()
            elif line == b"\n" and data:
                out.append((event_id, orjson.loads(data)))
                data = b""
    return out


async def test_lead_stream_delivers_changes_and_resumes(api: Harness) -> None:
    _, contoso, fabrikam, offer = await _setup(api)
    other_offer = await api.offer("northwind", "nw-0001", "fabrikam")
    resp = await api.client.get("/v1/leads/stream", headers=contoso)
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    [(first_id, lead)] = await _events(resp, 1)
    assert lead["referral_id"] == offer.referral_id and "customer" not in lead
    await api.accepted(offer, CUSTOMER)  # ledger: accepted, then lead revealed
    [(_, lead), (second_id, revealed)] = await _events(resp, 2)
    assert lead["status"] == "accepted" and "customer" not in lead
    assert revealed["status"] == "accepted" and revealed["customer"]["company"] == "Acme Health"
    resp.close()
    # resume after the first event: only the current state of what changed after it
    resumed = await api.client.get(
        "/v1/leads/stream", headers={**contoso, "Last-Event-ID": first_id}
    )
    [(resumed_id, lead)] = await _events(resumed, 1)
    assert resumed_id == second_id and lead["customer"]["company"] == "Acme Health"
    resumed.close()
    # fabrikam's stream carries fabrikam's lead only
    theirs = await api.client.get("/v1/leads/stream", headers=fabrikam)
    [(_, lead)] = await _events(theirs, 1)
    assert lead["referral_id"] == other_offer.referral_id and "customer" not in lead
    theirs.close()
    assert (await api.client.get("/v1/leads/stream")).status == 401
