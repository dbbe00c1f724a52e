"""Opportunity routes, always as the calling partner (the originator).

* ``POST /v1/opportunities`` — validate, publish on the ``opportunities`` topic (key
  ``originator/opportunity_id``), ``202`` once the broker acknowledged it. Publishing the same
  opportunity again (same originator and id, same content) is a ``202`` that publishes nothing; the
  same id with different content is a ``409``. ``Idempotency-Key`` is honoured. A partner may
  publish for ``conflict_checks_per_hour`` different customer domains per hour (more: ``429``,
  see ``connectors/http/conflict_checks.py``).
* ``GET /v1/opportunities/{opportunity_id}`` — its originator sees the routing state and every
  offer's status; for anyone else it does not exist (``404``).
* ``POST /v1/opportunities/{opportunity_id}/withdraw`` — the originator withdraws it (``{reason?}``).
* ``POST /v1/opportunities/{opportunity_id}/reroute`` — the originator re-opens it when it is
  ``exhausted`` or ``unroutable`` (else ``409``): it is ranked again, the partners already offered it
  left out (``{note?}``).
"""

from __future__ import annotations

import math
import time
import uuid

from aiohttp import web
from pydantic import Field

from connectors.http.auth import authenticate, require_partner
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.idempotency import with_idempotency
from connectors.http.routes_interop import opportunity_in, wanted_format
from connectors.http.standing import opportunity_view, status_of, team_view
from connectors.http.state import ApiState, state_of, utcnow
from connectors.http.views import OpportunityState
from schemas.common import Contract
from schemas.ids import opportunity_key
from schemas.lifecycle import RerouteRequested
from schemas.opportunity import Opportunity, OpportunityInput, OpportunityWithdrawn

__all__ = ["RerouteInput", "WithdrawInput", "add_opportunity_routes", "publish_opportunity"]

MAX_OPPORTUNITY_BYTES = 64 * 1024
_CLOSED = frozenset({"won", "lost"})


class WithdrawInput(Contract):
    """Body of ``POST /v1/opportunities/{id}/withdraw``."""

    reason: str | None = Field(default=None, max_length=500)


class RerouteInput(Contract):
    """Body of ``POST /v1/opportunities/{id}/reroute`` (optional)."""

    note: str | None = Field(default=None, max_length=500)


REROUTABLE = frozenset({"exhausted", "unroutable"})


def _new_id() -> str:
    return f"opp_{uuid.uuid4().hex[:20]}"


def _same(published: Opportunity, candidate: Opportunity) -> bool:
    exclude = {"published_at"}
    return published.model_dump(exclude=exclude) == candidate.model_dump(exclude=exclude)


async def post_opportunity(request: web.Request) -> web.Response:
    partner_id = require_partner(request)
    body, raw = await read_json(request, OpportunityInput, max_bytes=MAX_OPPORTUNITY_BYTES)
    state = state_of(request)

    async def publish() -> web.Response:
        return await _publish(state, partner_id, body)

    return await with_idempotency(state.idempotency, request, partner_id, raw, publish)


async def _publish(state: ApiState, originator: str, body: OpportunityInput) -> web.Response:
    opportunity_id = body.opportunity_id or _new_id()
    key = opportunity_key(originator, opportunity_id)
    async with state.lock(f"opportunity:{key}"):
        opportunity = Opportunity.model_validate(
            {
                **body.model_dump(),
                "opportunity_id": opportunity_id,
                "originator": originator,
                "published_at": utcnow(),
            }
        )
        known = state.views.opportunity_of(originator, opportunity_id)
        if known is not None and known.opportunity is not None:
            if not _same(known.opportunity, opportunity):
                raise ApiError(
                    409,
                    f"opportunity {opportunity_id} was already published with other content",
                    code="opportunity_exists",
                )
            return _accepted(opportunity_id, originator, duplicate=True)
        wait = state.conflict_checks.take(
            originator, opportunity.customer.normalised_domain, time.monotonic()
        )
        if wait > 0:
            raise ApiError(
                429,
                "too many different customers checked for conflicts this hour",
                code="conflict_checks_exhausted",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        published = await state.publisher.publish("opportunities", key, opportunity)
        # Read-your-writes for the originator's GET; the 202 stands even if this is slow.
        await state.readmodel.wait_for(published, timeout_s=state.visibility_timeout_s)
    return _accepted(opportunity_id, originator, duplicate=False)


async def publish_opportunity(
    state: ApiState, originator: str, body: OpportunityInput
) -> web.Response:
    """Publish a validated opportunity exactly as ``POST /v1/opportunities`` does (same 202/409):
    used by the CRM inbound webhooks."""
    return await _publish(state, originator, body)


def _accepted(opportunity_id: str, originator: str, *, duplicate: bool) -> web.Response:
    location = f"/v1/opportunities/{opportunity_id}"
    return json_response(
        {
            "opportunity_id": opportunity_id,
            "originator": originator,
            "status": "published",
            "duplicate": duplicate,
            "location": location,
        },
        status=202,
        headers={"Location": location},
    )


def _own(request: web.Request) -> OpportunityState:
    """The caller's own opportunity; anyone else's (or an unknown id) is a 404."""
    principal = authenticate(request)
    opportunity_id = request.match_info["opportunity_id"]
    originator = principal.partner_id or request.query.get("originator", "")
    views = state_of(request).views
    state = None
    if originator and "/" not in opportunity_id and "/" not in originator:
        state = views.opportunity_of(originator, opportunity_id)
    if state is None or state.opportunity is None:
        raise ApiError(404, f"no opportunity {opportunity_id} of yours")
    return state


async def get_opportunity(request: web.Request) -> web.Response:
    state = _own(request)
    views = state_of(request).views
    fmt = wanted_format(request)
    if fmt is not None:  # as a Partner Center referral / AWS opportunity, with what it drops
        team = team_view(state.team, views) if state.team is not None else None
        members = {r["partner_id"] for r in team["roles"] if "partner_id" in r} if team else set()
        kinds = {pid: views.profiles[pid].kind for pid in members if pid in views.profiles}
        body = opportunity_in(fmt, state, status_of(state, views), team=team, kinds=kinds)
        return json_response(body)
    return json_response(opportunity_view(state, views))


async def withdraw_opportunity(request: web.Request) -> web.Response:
    require_partner(request)
    state = _own(request)
    body, raw = await read_json(request, WithdrawInput)
    api = state_of(request)
    assert state.opportunity is not None
    opportunity = state.opportunity

    async def publish() -> web.Response:
        if state.withdrawn is None:
            views = api.views
            offers = [views.referrals[r].status for r in state.referrals if r in views.referrals]
            if _CLOSED & set(offers):
                raise ApiError(409, "the opportunity is already closed", code="illegal_transition")
            event = OpportunityWithdrawn(
                opportunity_id=opportunity.opportunity_id,
                originator=opportunity.originator,
                reason=body.reason,
                withdrawn_at=utcnow(),
            )
            key = opportunity_key(opportunity.originator, opportunity.opportunity_id)
            await api.visible(await api.publisher.publish("opportunities", key, event))
        return json_response(
            {"opportunity_id": opportunity.opportunity_id, "status": "withdrawn"}, status=202
        )

    return await with_idempotency(api.idempotency, request, opportunity.originator, raw, publish)


async def reroute_opportunity(request: web.Request) -> web.Response:
    require_partner(request)
    state = _own(request)
    _, raw = await read_json(request, RerouteInput, allow_empty=True)
    api = state_of(request)
    opportunity = state.opportunity
    assert opportunity is not None

    async def publish() -> web.Response:
        status = status_of(state, api.views)
        if status not in REROUTABLE:
            raise ApiError(
                409,
                f"the opportunity is {status}; only an exhausted or unroutable one is rerouted",
                code="illegal_transition",
            )
        event = RerouteRequested(
            opportunity_id=opportunity.opportunity_id,
            originator=opportunity.originator,
            opportunity=opportunity,
            requested_at=utcnow(),
        )
        key = opportunity_key(opportunity.originator, opportunity.opportunity_id)
        await api.visible(await api.publisher.publish("opportunities", key, event))
        return json_response(
            {"opportunity_id": opportunity.opportunity_id, "status": "routing"}, status=202
        )

    return await with_idempotency(api.idempotency, request, opportunity.originator, raw, publish)


def add_opportunity_routes(app: web.Application) -> None:
    app.router.add_post("/v1/opportunities", post_opportunity)
    app.router.add_get("/v1/opportunities/{opportunity_id}", get_opportunity)
    app.router.add_post("/v1/opportunities/{opportunity_id}/withdraw", withdraw_opportunity)
    app.router.add_post("/v1/opportunities/{opportunity_id}/reroute", reroute_opportunity)
