"""The partner inbox's files as the API serves them: CSP, no inline or foreign script, no HTML sinks.

The page itself is driven in real Chromium by tests/integration/api/test_inbox_browser.py; these
checks need no broker: a bare app with only the inbox routes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib import resources

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.http.errors import error_middleware
from connectors.http.inbox import add_inbox_routes

STATIC = resources.files("connectors.http.static")
SCRIPTS = sorted(p.name for p in STATIC.iterdir() if p.name.endswith(".js"))
# Ways a string becomes markup or code; the page writes partner data with textContent only.
SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function")


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[error_middleware])
    add_inbox_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def test_page_is_served_with_a_csp_without_inline_script(client: TestClient) -> None:
    resp = await client.get("/inbox")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    csp = dict(d.strip().split(" ", 1) for d in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["form-action"] == "'none'"  # a form can never send the key anywhere
    assert "unsafe" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    html = await resp.text()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/inbox/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "a foreign origin"


@pytest.mark.parametrize("name", [*SCRIPTS, "inbox.css"])
async def test_every_file_the_page_loads_is_served(client: TestClient, name: str) -> None:
    resp = await client.get(f"/inbox/{name}")
    assert resp.status == 200
    assert resp.content_type == ("text/css" if name.endswith(".css") else "text/javascript")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_import_only_their_siblings_and_write_no_markup(name: str) -> None:
    source = STATIC.joinpath(name).read_text(encoding="utf-8")
    for target in re.findall(r"from '([^']+)'", source):
        assert target.startswith("./") and target[2:] in SCRIPTS, target
    assert not SINKS.search(source), f"{name} writes markup from strings"
    assert "http://" not in source and "https://" not in source
    assert "document.cookie" not in source and "localStorage" not in source


@pytest.mark.parametrize("path", ["/inbox/nope.js", "/inbox/__init__.py", "/inbox/..%2Fapp.py"])
async def test_anything_else_is_a_json_404(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    assert (await resp.json())["error"] == "not_found"


async def test_a_trailing_slash_leads_to_the_page(client: TestClient) -> None:
    resp = await client.get("/inbox/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/inbox"
