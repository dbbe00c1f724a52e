"""``GET /v1/directory?needs=storage,backup&region=DE``: the calling partner's long-list.

Listed partners that complement the caller and would not compete with it, ranked and explained by
the routing core (:mod:`streams.partnerships.longlist`), key ``partners``, paged (``?limit``,
``next``). Each shows only the public part of a profile (``partner_id``, ``name``, ``kind``,
``capabilities``, ``regions``, ``certifications``), its ``score`` and ``reasons``, and
``partnership``: the status of its live partnership with the caller, or null (an active one is
also a ranking reason, factor ``partnership``). Competitors, refusals, capacity, the accepting
flag, keys and contacts are never shown; unlisted partners never appear. ``industry`` (optional)
feeds the industry factor.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from connectors.http.auth import require_partner
from connectors.http.errors import ApiError, json_response, validate
from connectors.http.paging import page
from connectors.http.state import state_of, utcnow
from connectors.http.views import Views
from schemas.common import Capability, Contract, Region
from schemas.partner import PartnerProfile
from streams.partnerships.longlist import Listed, long_list, lookup_opportunity
from streams.routing import PartnerDirectory

__all__ = ["DirectoryQuery", "add_directory_routes", "public_entry"]

PUBLIC_FIELDS = ("partner_id", "name", "kind", "capabilities", "regions", "certifications")


class DirectoryQuery(Contract):
    needs: tuple[Capability, ...] = Field(min_length=1, max_length=16)
    region: Region
    industry: str | None = Field(default=None, min_length=1, max_length=80)


class _DirectoryCache:
    """The routing directory of every active profile, rebuilt when a profile changed."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._directory = PartnerDirectory()

    def of(self, profiles: dict[str, PartnerProfile]) -> PartnerDirectory:
        key = (len(profiles), sum(p.version for p in profiles.values()))
        if key != self._key:
            directory = PartnerDirectory()
            for profile in profiles.values():
                directory.apply(profile)
            self._key, self._directory = key, directory
        return self._directory


CACHE = web.AppKey("oppbus_directory_cache", _DirectoryCache)


def public_entry(
    profile: PartnerProfile, listed: Listed, partnership: str | None
) -> dict[str, Any]:
    body = profile.model_dump(mode="json", include=set(PUBLIC_FIELDS))
    body.update(score=listed.score, reasons=list(listed.reasons), partnership=partnership)
    return body


def _query(request: web.Request) -> DirectoryQuery:
    raw: dict[str, Any] = {"needs": [], "region": request.query.get("region", "")}
    for value in request.query.getall("needs", []):
        raw["needs"] += [n.strip() for n in value.split(",") if n.strip()]
    if "industry" in request.query:
        raw["industry"] = request.query["industry"]
    return validate(DirectoryQuery, raw)


async def get_directory(request: web.Request) -> web.Response:
    me = require_partner(request)
    query = _query(request)
    views: Views = state_of(request).views
    if me not in views.profiles:
        raise ApiError(404, f"no profile of {me}")
    now = utcnow()
    cache = request.app[CACHE]
    found = long_list(
        lookup_opportunity(me, query.needs, query.region, now, query.industry),
        cache.of(views.profiles),
        views.profiles.values(),
        now=now,
        partners=views.commerce.active_partners(me),
    )
    ranked = list(enumerate(found))
    items, cursor = page(request, ranked, key=lambda r: (r[0],))
    partners = []
    for _, item in items:
        live = views.commerce.live_between(me, item.partner_id)
        partners.append(
            public_entry(views.profiles[item.partner_id], item, live.status if live else None)
        )
    return json_response({"partners": partners, "next": cursor})


def add_directory_routes(app: web.Application) -> None:
    app[CACHE] = _DirectoryCache()
    app.router.add_get("/v1/directory", get_directory)
