"""The inbox's pure script helpers, run in real headless Chromium (no broker needed).

The SSE reader must survive events split across chunks, CRLF line ends, comments and multi-line
data; API errors must land at the control whose field they name (longest dotted prefix wins);
strings that look like markup stay text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connectors.http.inbox import add_inbox_routes
from tests.integration.browser import Watched, chromium, open_page

# One browser and page for the module: the helpers under test keep no state between tests.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def scripts(browser_type_launch_args: dict[str, Any]) -> AsyncIterator[Watched]:
    app = web.Application()
    add_inbox_routes(app)
    server = TestServer(app)
    await server.start_server()
    try:
        async with chromium(browser_type_launch_args) as browser:
            watched = await open_page(browser, 1280)
            # the page without its main script: only the modules under test are imported
            await watched.page.route("**/inbox/main.js", lambda r: r.fulfill(
                status=200, content_type="text/javascript", body=""))  # fmt: skip
            await watched.page.goto(str(server.make_url("/inbox")))
            yield watched
            assert not watched.page_errors and not watched.console_errors
    finally:
        await server.close()


async def test_sse_blocks_split_across_chunks_parse_as_the_server_sent_them(
    scripts: Watched,
) -> None:
    result = await scripts.page.evaluate(
        """async () => {
          const { splitBlocks, parseBlock } = await import('/inbox/sse.js');
          const wire = 'retry: 2000\\r\\n\\r\\n: keep-alive\\n\\nid: e1-7\\nevent: lead\\n'
            + 'data: {"a":\\ndata: 1}\\n\\nid: e1-8\\nevent: le';
          let rest = '';
          const events = [];
          for (const chunk of [wire.slice(0, 9), wire.slice(9, 40), wire.slice(40)]) {
            const [blocks, tail] = splitBlocks(rest + chunk);
            rest = tail;
            events.push(...blocks.map(parseBlock));
          }
          return { events, rest };
        }"""
    )
    retry, comment, lead = result["events"]
    assert retry["retry"] == 2000
    assert comment["data"] == "" and comment["event"] == "message"
    assert lead == {"id": "e1-7", "event": "lead", "data": '{"a":\n1}', "retry": None}
    assert result["rest"] == "id: e1-8\nevent: le"  # an incomplete event waits for the rest


async def test_errors_land_at_the_longest_named_field(scripts: Watched) -> None:
    result = await scripts.page.evaluate(
        """async () => {
          const { showErrors } = await import('/inbox/forms.js');
          const { h, field } = await import('/inbox/dom.js');
          const form = h('form', {},
            field('Customer', h('input'), 'customer'),
            field('Email', h('input'), 'customer.contacts.0.email'),
            h('p', { class: 'form-error' }));
          document.body.append(form);
          showErrors(form, { errors: [
            { field: 'customer.contacts.0.email', message: 'bad email' },
            { field: 'customer.domain', message: 'bad <b>domain</b>' },
            { field: 'region', message: 'unknown region' },
          ] });
          const errors = [...form.querySelectorAll('.error, .form-error')].map((p) => p.textContent);
          return { errors, focused: document.activeElement === form.querySelectorAll('input')[1],
                   bold: form.querySelectorAll('b').length };
        }"""
    )
    assert result["errors"] == ["bad <b>domain</b>", "bad email", "region: unknown region"]
    assert result["focused"] and result["bold"] == 0


async def test_countdown_and_lists(scripts: Watched) -> None:
    result = await scripts.page.evaluate(
        """async () => {
          const { countdown, list, h } = await import('/inbox/dom.js');
          const t0 = Date.parse('2026-01-01T00:00:00Z');
          const el = h('p', { text: '<img src=x onerror=alert(1)>' }, '<i>x</i>');
          return {
            c: [90061, 3720, 125, 5, 0].map((s) => countdown(t0 + s * 1000, t0)),
            l: list(' storage, ,backup ,'),
            html: el.innerHTML,
          };
        }"""
    )
    assert result["c"] == ["1d 1h left", "1h 02m left", "2m 05s left", "5s left", "expired"]
    assert result["l"] == ["storage", "backup"]
    assert result["html"] == "&lt;img src=x onerror=alert(1)&gt;&lt;i&gt;x&lt;/i&gt;"


async def test_terms_read_as_a_sentence_and_their_fields_name_the_api_paths(
    scripts: Watched,
) -> None:
    result = await scripts.page.evaluate(
        """async () => {
          const { termsText, termsFields } = await import('/inbox/terms.js');
          const { showErrors } = await import('/inbox/forms.js');
          const percent = { referral_fee: { percent: '7.5' }, cap: { amount: '500.00',
            currency: 'EUR' }, approval_days: 1, payment_days: 30, version: 3 };
          const flat = { referral_fee: { amount: '250.00', currency: 'JPY' }, cap: null,
            approval_days: 0, payment_days: 14, version: 1 };
          const fields = termsFields('terms.', flat);
          const form = document.createElement('form');
          form.append(fields.el);
          document.body.append(form);
          const readFlat = fields.read();
          fields.fill(percent);
          const readPercent = fields.read();
          form.querySelector('input[type="number"]').value = '2.5';
          const readBadDays = fields.read();
          showErrors(form, { errors: [
            { field: 'terms.referral_fee.percent', message: 'too big' },
            { field: 'terms.cap', message: 'a flat fee in JPY cannot be capped in EUR' },
          ] });
          const errorAt = (label) => [...form.querySelectorAll('label')]
            .find((l) => l.textContent === label).parentNode.querySelector('.error').textContent;
          form.remove();
          return {
            texts: [termsText(percent), termsText(flat), termsText(null)],
            readFlat, readPercent, badDays: readBadDays.approval_days,
            errors: [errorAt('Fee percent'), errorAt('Cap currency')],
            labels: [...fields.el.querySelectorAll('label')].map((l) => l.textContent),
          };
        }"""
    )
    assert result["texts"] == [
        "7.5 % of the won amount, at most 500.00 EUR; correctable 1 day after the win, paid within"
        " 30 days of approval",
        "250.00 JPY per won referral; correctable 0 days after the win, paid within 14 days of"
        " approval",
        "No terms: no referral fee is due.",
    ]
    assert result["readFlat"] == {
        "referral_fee": {"amount": "250.00", "currency": "JPY"},
        "approval_days": 0,
        "payment_days": 14,
    }
    assert result["readPercent"] == {
        "referral_fee": {"percent": "7.5"},
        "cap": {"amount": "500.00", "currency": "EUR"},
        "approval_days": 1,
        "payment_days": 30,
    }
    assert result["badDays"] == "2.5"  # sent as typed: the API names the field
    assert result["errors"] == ["too big", "a flat fee in JPY cannot be capped in EUR"]
    assert "Referral fee" in result["labels"] and "Payment days" in result["labels"]


async def test_an_incomplete_team_shows_each_role_and_why_one_stayed_unfilled(
    scripts: Watched,
) -> None:
    result = await scripts.page.evaluate(
        """async () => {
          const { teamBlock } = await import('/inbox/opportunities.js');
          const el = teamBlock({ opportunity_id: 'nw-<b>9</b>', team: { status: 'incomplete',
            roles: [
              { needs: ['storage', 'backup'], status: 'accepted', partner_id: 'contoso' },
              { needs: ['security'], status: 'unfilled',
                reason: 'nobody accepted; <img src=x onerror=alert(1)>' }] } });
          return {
            status: el.querySelector('.team-status').textContent,
            roles: [...el.querySelectorAll('.team-roles > li')].map((li) => [
              li.dataset.role, li.querySelector('.badge').textContent, li.textContent]),
            label: el.querySelector('.team-roles').getAttribute('aria-label'),
            elements: el.querySelectorAll('img, b').length,
          };
        }"""
    )
    assert result["status"] == "Team of 2 roles incomplete"
    assert result["roles"] == [
        ["storage+backup", "accepted", "storage + backup accepted contoso"],
        ["security", "unfilled", "security unfillednobody accepted; <img src=x onerror=alert(1)>"],
    ]
    assert result["label"] == "Roles of nw-<b>9</b>"
    assert result["elements"] == 0  # every string stayed text
