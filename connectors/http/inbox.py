"""The partner inbox: ``GET /inbox``, a page where a partner without a CRM integration works its leads.

The page is static (``connectors/http/static``: one HTML file, one style sheet, plain JS modules,
no CDN and no build step) and talks to the same API as any integration, with the partner's API key
as a bearer token: the key is held by the page for the tab (``sessionStorage``), never put in a URL
or a cookie. ``GET /v1/me`` tells the page whose key it holds.

Every answer of the page carries a Content-Security-Policy without inline script and without any
origin but the API's own (``'self'``), so a partner-supplied string that slipped into markup could
not run; the scripts also only ever write such strings as text (``textContent``).
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from connectors.http.auth import require_partner
from connectors.http.errors import ApiError, json_response
from connectors.http.state import state_of

__all__ = ["CSP", "INBOX_ASSETS", "add_inbox_routes", "security_headers"]

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
}
INBOX_ASSETS = web.AppKey("oppbus_inbox_assets", dict[str, tuple[bytes, str]])


def security_headers() -> dict[str, str]:
    """Headers of every inbox answer: the CSP, no sniffing, no referrer, no caching of the page."""
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """Every file of the static package the page may load, by name (read once, at start-up)."""
    assets: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files("connectors.http.static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _TYPES:
            assets[entry.name] = (entry.read_bytes(), _TYPES[suffix])
    return assets


def _asset(request: web.Request, name: str) -> web.Response:
    found = request.app[INBOX_ASSETS].get(name)
    if found is None or name == "__init__.py":
        raise ApiError(404, f"no inbox file {name!r}")
    body, content_type = found
    return web.Response(
        body=body, content_type=content_type, charset="utf-8", headers=security_headers()
    )


async def inbox_page(request: web.Request) -> web.Response:
    return _asset(request, "inbox.html")


async def inbox_file(request: web.Request) -> web.Response:
    return _asset(request, request.match_info["name"])


async def to_inbox(request: web.Request) -> web.Response:
    del request
    raise web.HTTPFound("/inbox")


async def whoami(request: web.Request) -> web.Response:
    """``GET /v1/me``: the partner the bearer key belongs to (the page signs in with it)."""
    partner_id = require_partner(request)
    profile = state_of(request).views.profiles.get(partner_id)
    return json_response(
        {"partner_id": partner_id, "name": profile.name if profile is not None else None}
    )


def add_inbox_routes(app: web.Application) -> None:
    app[INBOX_ASSETS] = _load_assets()
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/inbox/", to_inbox)
    app.router.add_get("/inbox/{name}", inbox_file)
    app.router.add_get("/v1/me", whoami)
