"""The partner inbox (``GET /inbox``) in real headless Chromium, on a real worker and API.

Two partners sign in with their API keys, each in its own browser context. Contoso (whose name is
an HTML payload) accepts one offer and sees the customer, declines another with a reason code
(by keyboard only) and records the won deal with its amount; Northwind publishes an opportunity
through the form (after a first try whose errors are shown next to their fields) and watches it
get offered, while Contoso's page shows the new offer live from the stream. Every step is checked
through the API as well. The pages log no console error beyond the deliberate 4xx answers, run
no injected script, send no request off the bus's origin and never put the key in a URL or a
cookie. Screenshots at 360 and 1280 px wide are kept under ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from streams.runtime.app import create_app
from streams.wiring import register_all
from tests.integration.api.conftest import Harness, opportunity
from tests.integration.browser import Watched, assert_clean, chromium, open_page, screenshot

pytestmark = pytest.mark.kafka

XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 30_000


@pytest.fixture
async def bus(api: Harness) -> AsyncIterator[Harness]:
    """The API plus a real worker (router + scorecards) on the same topics."""
    worker = create_app(api.settings)
    register_all(worker, api.settings)
    await worker.start()
    try:
        yield api
    finally:
        await worker.stop()


async def _json(api: Harness, path: str, auth: dict[str, str]) -> Any:
    resp = await api.client.get(path, headers=auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _leads(api: Harness, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    body = await _json(api, "/v1/leads", auth)
    return {lead["opportunity_id"]: lead for lead in body["leads"]}


async def _sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(f"{base}/inbox")
    await page.get_by_label("API key", exact=True).fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#live")).to_have_text("live", timeout=TIMEOUT_MS)


def _offer(page: Page, lead: dict[str, Any]) -> Any:
    return page.locator(f'#offer-list > li[data-referral="{lead["referral_id"]}"]')


async def test_two_partners_work_their_referrals_in_the_inbox(
    bus: Harness, browser_type_launch_args: dict[str, Any]
) -> None:
    api = bus
    base = str(api.client.make_url("")).rstrip("/")
    northwind = await api.register(
        "northwind", name="Northwind Networks", capabilities=["networking"]
    )
    contoso = await api.register(
        "contoso",
        name=XSS,
        capabilities=["storage", "backup"],
        certifications=[{"vendor": "NetApp", "capability": "storage", "level": "gold",
                         "expires_at": "2027-06-30T00:00:00Z"}],
    )  # fmt: skip
    keys = {
        pid: auth["Authorization"][7:]
        for pid, auth in (("northwind", northwind), ("contoso", contoso))
    }

    # Two offers for contoso: one carries HTML in every free-text field a partner controls
    # (industry is a code of schemas/industries.py, so it cannot).
    hostile = opportunity(
        opportunity_id="nw-a",
        title=XSS,
        industry="legal",  # a code of the vocabulary: markup there is refused with a 422
        customer={"company": "<b>Acme</b> Health", "domain": "acme-health.example",
                  "contacts": [{"name": "Dana <i>Ops</i>", "email": "dana@acme-health.example"}]},
    )  # fmt: skip
    plain = opportunity(
        opportunity_id="nw-b",
        title="Backup refresh",
        customer={"company": "Globex", "domain": "globex.example", "contacts": []},
    )
    for body in (hostile, plain):
        resp = await api.client.post("/v1/opportunities", json=body, headers=northwind)
        assert resp.status == 202, await resp.text()
    offered: dict[str, dict[str, Any]] = {}

    async def both_offered() -> bool:
        offered.update(await _leads(api, contoso))
        return {"nw-a", "nw-b"} <= set(offered)

    assert await _eventually(both_offered), "the worker did not offer both opportunities"

    async with chromium(browser_type_launch_args) as browser:
        c = await open_page(browser, 1280)
        n = await open_page(browser, 360)
        page = c.page

        # --- sign in: a wrong key is refused next to the field, then contoso's key works -----
        await page.goto(f"{base}/inbox")
        await page.get_by_label("API key", exact=True).fill("opb_wrong_key")
        await page.get_by_label("API key", exact=True).press("Enter")
        await expect(page.locator("#api-key-error")).to_contain_text("not valid")
        await expect(page.get_by_label("API key", exact=True)).to_have_attribute(
            "aria-invalid", "true"
        )
        await page.get_by_label("API key", exact=True).fill(keys["contoso"])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#live")).to_have_text("live", timeout=TIMEOUT_MS)
        await expect(page.locator("#who-name")).to_have_text(XSS)  # the name, as text
        await expect(_offer(page, offered["nw-b"])).to_have_count(1)
        hostile_card = _offer(page, offered["nw-a"])
        await expect(hostile_card).to_have_count(1)
        await expect(hostile_card).to_contain_text("legal")
        await expect(hostile_card.locator(".score")).to_have_text(f"{offered['nw-a']['score']:.2f}")
        await expect(hostile_card.locator("time")).to_contain_text("left")
        await expect(hostile_card.locator(".reasons li").first).to_be_visible()
        # no partnership and no network default: the offer says accepting it costs no fee
        await expect(hostile_card.locator("p.terms")).to_have_text(
            "No terms: no referral fee is due."
        )
        await screenshot(page, "inbox-offers", 1280)

        # --- accept one offer: the customer is revealed on the page and through the API ------
        await hostile_card.get_by_role("button", name="Accept").click()
        accepted = page.locator("#accepted-list > li").filter(has_text="<b>Acme</b> Health")
        await expect(accepted).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(accepted).to_contain_text("dana@acme-health.example")
        await expect(accepted).to_contain_text("Dana <i>Ops</i>")
        await expect(accepted).to_contain_text(XSS)  # the title, revealed with the customer
        lead = (await _leads(api, contoso))["nw-a"]
        assert lead["status"] == "accepted" and lead["customer"]["company"] == "<b>Acme</b> Health"

        # --- decline the other with a reason code, by keyboard only ---------------------------
        other = _offer(page, offered["nw-b"])
        await other.get_by_role("button", name="Decline").focus()
        await page.keyboard.press("Enter")
        reason = other.get_by_label("Reason", exact=True)
        await expect(reason).to_be_focused()
        await reason.select_option("timing")  # a <select>: the keyboard picks the same way
        await page.keyboard.press("Tab")
        await expect(other.get_by_role("button", name="Confirm decline")).to_be_focused()
        await page.keyboard.press("Enter")
        closed = page.locator(
            f'#closed-list > li[data-referral="{offered["nw-b"]["referral_id"]}"]'
        )
        await expect(closed).to_contain_text("declined", timeout=TIMEOUT_MS)
        lead = (await _leads(api, contoso))["nw-b"]
        assert lead["status"] == "declined" and lead["outcome"]["reason"] == "timing"

        # --- the second partner publishes through the form and watches it get offered --------
        npage = n.page
        await _sign_in(npage, base, keys["northwind"])
        await expect(npage.locator("#who-name")).to_have_text("Northwind Networks")
        form = npage.locator("#publish-form")
        await form.get_by_label("Title").fill("SAN for the new clinic")
        await form.get_by_label("Needs").fill("storage")
        await form.get_by_label("Region").fill("Narnia")
        await form.get_by_label("Industry").fill("healthcare")
        await form.get_by_label("Deal size").fill("90000.00")
        await form.get_by_label("Expected close").fill("2027-05-31")
        await form.get_by_label("Customer company").fill("Initech Clinic")
        await form.get_by_label("Customer domain").fill("not a domain")
        await form.get_by_role("button", name="Publish").click()
        region_error = form.locator('[data-field="region"] .error')
        await expect(region_error).not_to_be_empty()
        await expect(form.locator('[data-field="customer.domain"] .error')).not_to_be_empty()
        await expect(form.get_by_label("Region")).to_be_focused()
        assert (await _json(api, "/v1/leads", contoso))["count"] == 2  # nothing was published
        await form.get_by_label("Region").fill("US-TX")
        await form.get_by_label("Customer domain").fill("initech-clinic.example")
        await form.get_by_label("Your reference").fill("nw-c")
        await form.get_by_role("button", name="Publish").click()
        await expect(form.locator(".form-ok")).to_contain_text("Published nw-c")
        await expect(region_error).to_be_empty()
        opp = npage.locator("#opp-list > li").filter(has_text="SAN for the new clinic")
        await expect(opp.locator("tbody tr")).to_contain_text("contoso", timeout=TIMEOUT_MS)
        await expect(opp.locator("tbody tr")).to_contain_text("offered")
        view = await _json(api, "/v1/opportunities/nw-c", northwind)
        assert [(o["partner_id"], o["status"]) for o in view["offers"]] == [("contoso", "offered")]
        # ... and contoso's page got it live, from the stream
        live = page.locator("#offer-list > li").filter(has_text="storage in US-TX")
        await expect(live).to_have_count(1, timeout=TIMEOUT_MS)
        await screenshot(npage, "inbox-publish", 360)
        await screenshot(npage, "inbox-publish", 1280)

        # --- record the outcome of the accepted lead: won, with the amount --------------------
        outcome = accepted.locator("form.outcome-form")
        await outcome.get_by_label("Result").select_option("won")
        await outcome.get_by_role("button", name="Record outcome").click()
        await expect(outcome.locator('[data-field="amount"] .error')).not_to_be_empty()
        await outcome.get_by_label("Amount won").fill("240000.00")
        await outcome.get_by_role("button", name="Record outcome").click()
        await expect(accepted).to_contain_text("Won: 240000.00 USD", timeout=TIMEOUT_MS)
        lead = (await _leads(api, contoso))["nw-a"]
        assert lead["status"] == "won" and lead["outcome"]["amount"]["amount"] == "240000.00"
        view = await _json(api, "/v1/opportunities/nw-a", northwind)
        assert view["status"] == "won"

        # --- the live offer: accepted, then lost with a reason ---------------------------------
        await live.get_by_role("button", name="Accept").click()
        clinic = page.locator("#accepted-list > li").filter(has_text="Initech Clinic")
        await expect(clinic).to_have_count(1, timeout=TIMEOUT_MS)
        await clinic.get_by_label("Result").select_option("lost")
        await expect(clinic.get_by_label("Amount won")).to_be_hidden()
        await clinic.get_by_label("Lost reason").select_option("competitor")
        await clinic.get_by_role("button", name="Record outcome").click()
        await expect(clinic).to_contain_text("Lost: competitor", timeout=TIMEOUT_MS)
        lead = (await _leads(api, contoso))["nw-c"]
        assert lead["status"] == "lost" and lead["outcome"]["reason"] == "competitor"

        # --- the originator follows its other opportunities by id (only its own) ---------------
        follow = npage.locator("#follow-form")
        await follow.get_by_label("Opportunity id").fill("nw-a")
        await follow.get_by_role("button", name="Follow").click()
        followed = npage.locator('#opp-list > li[data-opportunity="nw-a"]')
        await expect(followed.locator(".badge").first).to_have_text("won", timeout=TIMEOUT_MS)
        await expect(followed).to_contain_text("<b>Acme</b> Health")  # its own customer, as text
        clinic_opp = npage.locator('#opp-list > li[data-opportunity="nw-c"]')
        await expect(clinic_opp.locator(".badge").first).to_have_text("lost", timeout=TIMEOUT_MS)
        await follow.get_by_label("Opportunity id").fill("someone-elses")
        await follow.get_by_role("button", name="Follow").click()
        await expect(follow.locator(".form-error")).to_contain_text("no opportunity")

        # --- profile and scorecard --------------------------------------------------------------
        await expect(page.locator("#profile-form").get_by_label("Capabilities")).to_have_value(
            "storage, backup"
        )
        await expect(page.locator("#profile .certs")).to_contain_text("expires in")
        score = page.locator("#scorecard-body")
        await expect(score.locator('[data-stat="won"] dd')).to_have_text("1", timeout=TIMEOUT_MS)
        await expect(score.locator('[data-stat="revenue_won"]')).to_have_text("240000.00 USD")
        await expect(score.locator('[data-stat="declined"] dd')).to_have_text("1")
        await screenshot(page, "inbox-contoso", 1280)
        await screenshot(page, "inbox-contoso", 360)

        for w in (c, n):
            await _check_page(w, base, keys)


async def _check_page(w: Watched, base: str, keys: dict[str, str]) -> None:
    # the deliberate errors: the wrong key; the invalid forms; following an id not the partner's
    await assert_clean(
        w,
        base,
        list(keys.values()),
        deliberate=("status of 401", "status of 422", "status of 404"),
        payloads="img, body script, main i",  # the payloads stayed text
    )


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_me_names_the_key_holder_and_nobody_else(api: Harness) -> None:
    contoso = await api.register("contoso", name=XSS)
    await api.register("fabrikam", name="Fabrikam")
    resp = await api.client.get("/v1/me", headers=contoso)
    assert resp.status == 200
    assert await resp.json() == {"partner_id": "contoso", "name": XSS}
    for headers, status in (({}, 401), (api.bearer("opb_forged_key"), 401), (api.admin, 403)):
        resp = await api.client.get("/v1/me", headers=headers)
        assert resp.status == status
        assert "Fabrikam" not in await resp.text()


async def test_profile_edits_and_the_key_lives_only_as_long_as_the_tab_and_the_key(
    api: Harness, browser_type_launch_args: dict[str, Any]
) -> None:
    base = str(api.client.make_url("")).rstrip("/")
    contoso = await api.register(
        "contoso",
        name="Contoso Storage",
        capabilities=["storage", "backup"],
        certifications=[{"vendor": "NetApp", "capability": "storage", "level": "gold",
                         "expires_at": "2027-06-30T00:00:00Z"}],
    )  # fmt: skip
    key = contoso["Authorization"][7:]
    async with chromium(browser_type_launch_args) as browser:
        w = await open_page(browser, 1280)
        page = w.page
        # keyboard only: the key field has the focus after a Tab past the skip link
        await page.goto(f"{base}/inbox")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("API key", exact=True)).to_be_focused()
        await page.keyboard.type(key)
        await page.keyboard.press("Enter")
        await expect(page.locator("#live")).to_have_text("live", timeout=TIMEOUT_MS)
        form = page.locator("#profile-form")
        await expect(form.get_by_label("Company name")).to_have_value("Contoso Storage")

        # an error names the field: a certification for a capability the partner does not offer
        await form.get_by_role("button", name="Add certification").click()
        second = form.locator("fieldset.cert").nth(1)
        await expect(second.get_by_label("Vendor")).to_be_focused()
        await page.keyboard.type("Veeam")
        await second.get_by_label("Capability").fill("networking")
        await form.get_by_role("button", name="Save profile").click()
        error = second.locator('[data-field="certifications.1.capability"] .error')
        await expect(error).to_contain_text("not in capabilities")
        await second.get_by_label("Capability").fill("backup")
        await second.get_by_label("Expires").fill("2026-01-15")
        await form.get_by_label("Capacity (open offers)").fill("3")
        await form.get_by_label("Competitors").fill("fabrikam, northwind")
        await form.get_by_label("Accepting new offers").uncheck()
        await form.get_by_role("button", name="Save profile").click()
        await expect(form.locator(".form-ok")).to_have_text("Saved (version 2).")
        await expect(error).to_be_empty()
        profile = await _json(api, "/v1/partners/contoso", contoso)
        assert profile["capacity"] == 3 and profile["accepting"] is False
        assert profile["competitors"] == ["fabrikam", "northwind"]
        assert [
            (c["vendor"], c["capability"], c["expires_at"]) for c in profile["certifications"]
        ] == [
            ("NetApp", "storage", "2027-06-30T00:00:00Z"),
            ("Veeam", "backup", "2026-01-15T00:00:00Z"),
        ]

        # the key stays with the tab: a reload is still signed in; another tab is not
        await page.reload()
        await expect(page.locator("#live")).to_have_text("live", timeout=TIMEOUT_MS)
        other = await open_page(browser, 360)
        await other.page.goto(f"{base}/inbox")
        await expect(other.page.get_by_label("API key", exact=True)).to_be_visible()
        await expect(other.page.locator("#app")).to_be_hidden()
        await screenshot(other.page, "inbox-signin", 360)

        # revoking the key signs the page out (the next call is refused) and forgets the key
        resp = await api.client.delete("/v1/partners/contoso/api-key", headers=api.admin)
        assert resp.status == 204
        await expect(page.locator("#signin-note")).to_contain_text("revoked", timeout=TIMEOUT_MS)
        await expect(page.locator("#app")).to_be_hidden()
        assert await page.evaluate("() => sessionStorage.length") == 0
        await screenshot(page, "inbox-signed-out", 1280)

        for watched in (w, other):
            assert not watched.page_errors and not watched.dialogs
            deliberate = ("status of 401", "status of 422")  # the revoked key; the invalid profile
            assert [m for m in watched.console_errors if not any(d in m for d in deliberate)] == []
            assert not any(key in u for u in watched.requests)
