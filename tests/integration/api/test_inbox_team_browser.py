"""A team in the partner inbox: real headless Chromium on a real worker and API (embedded broker).

Northwind (networking) publishes a storage + backup opportunity through the form with "Route to a
team" checked (a one-need team first: refused next to the checkbox, nothing published) and follows
the team on its opportunity: each role's needs and status, the member once it accepted, and the
team's status. Contoso (storage) and a backup partner whose name is an HTML payload each sign in
in their own browser and see their role's offer, naming neither the customer nor the other member.
Contoso accepts and sees the customer and the prime (Northwind and its contact) but nobody else of
the team; once the backup partner accepts too, both see the other member and Northwind sees the
team assembled. Every step is checked through the API as well; no console error beyond the
deliberate 422, no injected script, no request off the bus's origin, no key in a URL or cookie,
every control labelled, nothing wider than 360 px. Screenshots at 360 and 1280 px go to
``test-artifacts/``.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.integration.api.conftest import Harness
from tests.integration.api.test_inbox_browser import (
    TIMEOUT_MS,
    XSS,
    _eventually,
    _json,
    _leads,
    _sign_in,
    bus,
)
from tests.integration.browser import (
    assert_clean,
    chromium,
    open_page,
    screenshot,
    section_screenshots,
)

pytestmark = pytest.mark.kafka

__all__ = ["bus"]  # the fixture: the API plus a real worker

OID = "nw-team"
PRIME = "Prime: Northwind Networks (northwind) · Nora Wind · nora@northwind.example"


def _role(page: Page, needs: str) -> Any:
    """The originator's line for one role of the team (``needs`` joined with ``+``)."""
    return page.locator(
        f'#opp-list > li[data-opportunity="{OID}"] .team-roles li[data-role="{needs}"]'
    )


async def _team(api: Harness, auth: dict[str, str]) -> dict[str, Any]:
    view = await _json(api, f"/v1/opportunities/{OID}", auth)
    return dict(view["team"])


def _roles(team: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {"+".join(r["needs"]): (r["status"], r.get("partner_id")) for r in team["roles"]}


async def test_a_team_is_published_offered_and_assembled_in_the_inbox(
    bus: Harness, browser_type_launch_args: dict[str, Any]
) -> None:
    api = bus
    base = str(api.client.make_url("")).rstrip("/")
    northwind = await api.register(
        "northwind",
        name="Northwind Networks",
        capabilities=["networking"],
        contact={"name": "Nora Wind", "email": "nora@northwind.example"},
    )
    contoso = await api.register("contoso", name="Contoso Storage", capabilities=["storage"])
    fabrikam = await api.register("fabrikam", name=XSS, capabilities=["backup"])
    auths = {"northwind": northwind, "contoso": contoso, "fabrikam": fabrikam}
    keys = {pid: auth["Authorization"][7:] for pid, auth in auths.items()}

    async with chromium(browser_type_launch_args) as browser:
        n = await open_page(browser, 1280)
        c = await open_page(browser, 360)
        f = await open_page(browser, 1280)
        npage, cpage, fpage = n.page, c.page, f.page
        for page, pid in ((npage, "northwind"), (cpage, "contoso"), (fpage, "fabrikam")):
            await _sign_in(page, base, keys[pid])
        await expect(fpage.locator("#who-name")).to_have_text(XSS)  # the name, as text

        # --- a team of one need is refused next to the checkbox; nothing is published ---------
        form = npage.locator("#publish-form")
        fields = {
            "Title": "Storage and backup for the clinic",
            "Your reference": OID,
            "Needs": "storage",  # one need: not a team
            "Region": "US-CA",
            "Industry": "healthcare",
            "Deal size": "180000.00",
            "Expected close": "2027-06-30",
            "Customer company": "Acme Health",
            "Customer domain": "acme-health.example",
            "Contact name": "Dana Ops",
            "Contact email": "dana@acme-health.example",
        }
        for label, value in fields.items():
            await form.get_by_label(label).fill(value)
        await form.get_by_label("Route to a team").check()
        await form.get_by_role("button", name="Publish").click()
        team_error = form.locator('[data-field="team"] .error')
        await expect(team_error).not_to_be_empty()
        resp = await api.client.get(f"/v1/opportunities/{OID}", headers=northwind)
        assert resp.status == 404  # nothing was published
        assert (await _json(api, "/v1/leads", contoso))["count"] == 0

        # --- two needs: published as a team; the originator sees each role offered ------------
        await form.get_by_label("Needs").fill("storage, backup")
        await form.get_by_role("button", name="Publish").click()
        await expect(form.locator(".form-ok")).to_contain_text(f"Published {OID}")
        await expect(team_error).to_be_empty()
        opp = npage.locator(f'#opp-list > li[data-opportunity="{OID}"]')
        await expect(opp.locator(".team-status .badge")).to_have_text(
            "assembling", timeout=TIMEOUT_MS
        )
        await expect(_role(npage, "storage").locator(".badge")).to_have_text(
            "offered", timeout=TIMEOUT_MS
        )
        await expect(_role(npage, "backup").locator(".badge")).to_have_text("offered")
        await expect(opp.locator(".team-roles li")).to_have_count(2)
        team = await _team(api, northwind)
        assert team["status"] == "assembling"
        assert _roles(team) == {"storage": ("offered", None), "backup": ("offered", None)}
        await screenshot(npage, "inbox-team-published", 1280)

        # --- each member sees its own role's offer: no customer, no other member ---------------
        offers: dict[str, dict[str, Any]] = {}

        async def both_offered() -> bool:
            for pid in ("contoso", "fabrikam"):
                lead = (await _leads(api, auths[pid])).get(OID)
                if lead is not None:
                    offers[pid] = lead
            return len(offers) == 2

        assert await _eventually(both_offered), "the roles were not offered"
        assert offers["contoso"]["team"] == {"role": ["storage"], "size": 2}
        assert offers["fabrikam"]["team"] == {"role": ["backup"], "size": 2}
        cards = {}
        for page, pid, role, other in (
            (cpage, "contoso", "storage", "fabrikam"),
            (fpage, "fabrikam", "backup", "contoso"),
        ):
            card = page.locator(f'#offer-list > li[data-referral="{offers[pid]["referral_id"]}"]')
            await expect(card.locator("p.team")).to_have_text(
                f"Team role: {role} (one of 2 roles)", timeout=TIMEOUT_MS
            )
            await expect(card).to_contain_text("from northwind")
            for hidden in ("Acme", other, "Prime", "Team assembled"):
                await expect(card).not_to_contain_text(hidden)
            cards[pid] = card
        await screenshot(cpage, "inbox-team-offer", 360)

        # --- contoso accepts: the customer and the prime, nobody else of the team -------------
        await cards["contoso"].get_by_role("button", name="Accept").click()
        mine = cpage.locator("#accepted-list > li").filter(has_text="Acme Health")
        await expect(mine).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(mine.locator(".team-prime")).to_have_text(PRIME, timeout=TIMEOUT_MS)
        await expect(mine.locator("p.team")).to_have_text("Team role: storage (one of 2 roles)")
        await expect(mine).to_contain_text("dana@acme-health.example")
        await expect(mine.locator(".team-members")).to_have_count(0)
        await expect(mine).not_to_contain_text("fabrikam")
        await expect(mine).not_to_contain_text(XSS)
        lead = (await _leads(api, contoso))[OID]
        assert lead["status"] == "accepted" and lead["customer"]["company"] == "Acme Health"
        assert lead["team"]["prime"]["partner_id"] == "northwind"
        assert lead["team"]["prime"]["contact"]["name"] == "Nora Wind"
        assert "members" not in lead["team"]
        # the originator: storage accepted by contoso, the team still assembling
        await expect(_role(npage, "storage")).to_contain_text("contoso", timeout=TIMEOUT_MS)
        await expect(_role(npage, "storage").locator(".badge")).to_have_text("accepted")
        await expect(_role(npage, "backup").locator(".badge")).to_have_text("offered")
        await expect(opp.locator(".team-status .badge")).to_have_text("assembling")
        team = await _team(api, northwind)
        assert team["status"] == "assembling"
        assert _roles(team) == {"storage": ("accepted", "contoso"), "backup": ("offered", None)}
        # the member still to answer knows nothing more than its offer
        waiting = (await _leads(api, fabrikam))[OID]
        assert set(waiting["team"]) == {"role", "size"} and "customer" not in waiting
        await expect(cards["fabrikam"]).not_to_contain_text("Acme")
        await screenshot(cpage, "inbox-team-accepted", 1280)

        # --- fabrikam accepts: the team is assembled; each member sees the other ---------------
        await cards["fabrikam"].get_by_role("button", name="Accept").click()
        theirs = fpage.locator("#accepted-list > li").filter(has_text="Acme Health")
        await expect(theirs).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(theirs.locator(".team-prime")).to_have_text(PRIME, timeout=TIMEOUT_MS)
        await expect(theirs.locator('.team-members li[data-partner="contoso"]')).to_have_text(
            "Contoso Storage (contoso) · storage", timeout=TIMEOUT_MS
        )
        await expect(theirs.locator(".team-members li")).to_have_count(1)
        # contoso's page learns it live (the stream), the payload name as text
        other = mine.locator('.team-members li[data-partner="fabrikam"]')
        await expect(other).to_have_text(f"{XSS} (fabrikam) · backup", timeout=TIMEOUT_MS)
        await expect(other.locator("b")).to_have_text(XSS)
        await expect(mine.locator(".team-members li")).to_have_count(1)

        async def assembled() -> bool:
            leads = [(await _leads(api, auths[pid]))[OID] for pid in ("contoso", "fabrikam")]
            return all("members" in lead["team"] for lead in leads)

        assert await _eventually(assembled), "the members were not told"
        told = (await _leads(api, contoso))[OID]["team"]["members"]
        assert told == [{"partner_id": "fabrikam", "name": XSS, "needs": ["backup"]}]
        told = (await _leads(api, fabrikam))[OID]["team"]["members"]
        assert told == [{"partner_id": "contoso", "name": "Contoso Storage", "needs": ["storage"]}]
        # the originator sees the team assembled, each role with its member
        await expect(opp.locator(".team-status .badge")).to_have_text(
            "assembled", timeout=TIMEOUT_MS
        )
        await expect(_role(npage, "backup")).to_contain_text("fabrikam")
        await expect(_role(npage, "backup").locator(".badge")).to_have_text("accepted")
        await expect(_role(npage, "storage").locator(".badge")).to_have_text("accepted")
        team = await _team(api, northwind)
        assert team["status"] == "assembled"
        assert _roles(team) == {
            "storage": ("accepted", "contoso"),
            "backup": ("accepted", "fabrikam"),
        }

        for page, name in ((npage, "northwind"), (cpage, "contoso"), (fpage, "fabrikam")):
            await screenshot(page, f"inbox-team-{name}", 360)
            await screenshot(page, f"inbox-team-{name}", 1280)
        await section_screenshots(npage, "inbox-team-northwind", ["opportunities"])
        await section_screenshots(cpage, "inbox-team-contoso", ["accepted"])
        await section_screenshots(fpage, "inbox-team-fabrikam", ["accepted"])

        for w in (n, c, f):
            # the deliberate error: the team of one need
            await assert_clean(w, base, list(keys.values()), deliberate=("status of 422",))
