"""The operator's routes (admin token only; a partner's key is a ``403``).

* ``GET /v1/admin/partners`` — every profile, by partner id; filters ``capability``, ``region``
  (a served country covers its subdivisions), ``kind``, ``accepting`` (``true``/``false``); paged.
* ``GET /v1/admin/opportunities`` — every opportunity, oldest first, ``?status=`` (e.g.
  ``conflict``, ``waiting``; repeatable); paged.
* ``GET /v1/admin/opportunities/{originator}/{opportunity_id}`` — the originator's view plus the
  full routing history (every offer and notice, in time order).
* ``POST /v1/admin/opportunities/{originator}/{opportunity_id}/resolve`` —
  ``{decision: route|reject, reason}`` on a ``conflict``: published as ``ConflictResolved`` on the
  ``opportunities`` topic (the router acts on it); ``409`` when it is not in conflict.

The operator's webhook routes (``GET /v1/admin/webhook-deliveries``, ``POST .../{webhook_id}/redrive``)
live with the other webhook routes, in ``connectors/webhooks/admin_routes.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from connectors.http.auth import require_admin
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.idempotency import with_idempotency
from connectors.http.paging import page
from connectors.http.routes_partners import profile_body
from connectors.http.standing import STATUSES, notice_time, opportunity_view, status_of
from connectors.http.state import state_of, utcnow
from connectors.http.views import OpportunityState
from schemas.common import Contract
from schemas.ids import opportunity_key
from schemas.lifecycle import ConflictResolved
from schemas.partner import PartnerProfile

__all__ = ["ResolveInput", "add_admin_routes"]

_KINDS = ("reseller", "distributor", "msp", "consultant", "isv")


class ResolveInput(Contract):
    """Body of ``POST /v1/admin/opportunities/{originator}/{opportunity_id}/resolve``."""

    decision: Literal["route", "reject"]
    reason: str = Field(min_length=1, max_length=500)


def _serves(profile: PartnerProfile, region: str) -> bool:
    return region in profile.regions or region.split("-", 1)[0] in profile.regions


async def list_partners(request: web.Request) -> web.Response:
    require_admin(request)
    q = request.query
    accepting = q.get("accepting")
    if accepting not in (None, "true", "false"):
        raise ApiError(400, "accepting: true or false", code="bad_parameter")
    kind = q.get("kind")
    if kind is not None and kind not in _KINDS:
        raise ApiError(400, f"kind: one of {', '.join(_KINDS)}", code="bad_parameter")
    capability, region = q.get("capability"), q.get("region")
    found = [
        p
        for p in state_of(request).views.profiles.values()
        if (capability is None or capability in p.capabilities)
        and (region is None or _serves(p, region))
        and (kind is None or p.kind == kind)
        and (accepting is None or p.accepting == (accepting == "true"))
    ]
    chosen, cursor = page(request, found, lambda p: (p.partner_id,))
    return json_response({"partners": [profile_body(p) for p in chosen], "next": cursor})


def _order(state: OpportunityState) -> tuple[float, str, str]:
    """Oldest first (publication time, then the key: both never change)."""
    assert state.opportunity is not None
    return state.opportunity.published_at.timestamp(), state.originator, state.opportunity_id


def _summary(state: OpportunityState, status: str) -> dict[str, Any]:
    opp = state.opportunity
    assert opp is not None
    return {
        "originator": state.originator,
        "opportunity_id": state.opportunity_id,
        "status": status,
        "published_at": opp.published_at.isoformat(),
        "needs": list(opp.needs),
        "region": opp.region,
        "offers": len(state.referrals),
    }


async def list_opportunities(request: web.Request) -> web.Response:
    require_admin(request)
    wanted = request.query.getall("status", [])
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise ApiError(400, f"status: {unknown[0]!r} is not one of {', '.join(STATUSES)}")
    views = state_of(request).views
    found = []
    for state in views.opportunities.values():
        if state.opportunity is None:
            continue
        status = status_of(state, views)
        if not wanted or status in wanted:
            found.append((state, status))
    chosen, cursor = page(request, found, lambda item: _order(item[0]))
    return json_response({"opportunities": [_summary(s, st) for s, st in chosen], "next": cursor})


def _any(request: web.Request) -> OpportunityState:
    originator = request.match_info["originator"]
    opportunity_id = request.match_info["opportunity_id"]
    state = state_of(request).views.opportunity_of(originator, opportunity_id)
    if state is None or state.opportunity is None:
        raise ApiError(404, f"no opportunity {opportunity_id} of {originator}")
    return state


def _history(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Every offer step and notice of the opportunity, oldest first."""
    at = datetime.fromisoformat
    steps: list[tuple[datetime, dict[str, Any]]] = [
        (at(view["published_at"]), {"type": "published"})
    ]
    for offer in view["offers"]:
        about = {"referral_id": offer["referral_id"], "partner_id": offer["partner_id"]}
        offered = {"type": "offered", **about, "score": offer["score"]}
        steps.append((at(offer["offered_at"]), offered))
        if offer["status"] != "offered":
            steps.append((at(offer["updated_at"]), {"type": offer["status"], **about}))
    for notice in view["notices"]:
        when = notice_time(notice)
        if when is not None:
            steps.append((when, dict(notice)))
    steps.sort(key=lambda step: step[0])
    return [{"at": when.isoformat(), **step} for when, step in steps]


async def get_opportunity(request: web.Request) -> web.Response:
    require_admin(request)
    views = state_of(request).views
    view = opportunity_view(_any(request), views)
    view["history"] = _history(view)
    return json_response(view)


async def resolve(request: web.Request) -> web.Response:
    principal = require_admin(request)
    state = _any(request)
    body, raw = await read_json(request, ResolveInput)
    api = state_of(request)

    async def publish() -> web.Response:
        status = status_of(state, api.views)
        if status != "conflict":
            raise ApiError(
                409, f"the opportunity is {status}, not in conflict", code="not_in_conflict"
            )
        event = ConflictResolved(
            opportunity_id=state.opportunity_id,
            originator=state.originator,
            decision=body.decision,
            reason=body.reason,
            resolved_at=utcnow(),
        )
        key = opportunity_key(state.originator, state.opportunity_id)
        await api.visible(await api.publisher.publish("opportunities", key, event))
        return json_response(
            {
                "opportunity_id": state.opportunity_id,
                "originator": state.originator,
                "decision": body.decision,
                "status": "routing" if body.decision == "route" else "rejected",
            },
            status=202,
        )

    return await with_idempotency(api.idempotency, request, principal.name, raw, publish)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/v1/admin/partners", list_partners)
    app.router.add_get("/v1/admin/opportunities", list_opportunities)
    one = "/v1/admin/opportunities/{originator}/{opportunity_id}"
    app.router.add_get(one, get_opportunity)
    app.router.add_post(one + "/resolve", resolve)
