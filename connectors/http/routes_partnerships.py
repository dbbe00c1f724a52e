"""Partnerships and terms of engagement between partners; the network default terms.

* ``POST /v1/partnerships`` ``{partner_id, terms}`` — the caller proposes; ``201`` with the
  partnership (``status: proposed``, terms version 1). One live (proposed or active) partnership
  per pair: proposing another is a ``409`` naming the existing one.
* ``POST /v1/partnerships/{id}/accept`` — the side awaited accepts: the proposal (-> ``active``)
  or, on an active partnership, the new terms the other side proposed (they come into force, the
  next version). The side that proposed gets ``403``; a partner not party to it ``404``.
* ``POST /v1/partnerships/{id}/end`` — either side; withdrawing or declining a proposal is ending it.
* ``PUT /v1/partnerships/{id}/terms`` (body: the terms) — proposes the next version (``pending_terms``);
  the terms in force stay until the other side accepts with ``/accept``.
* ``GET /v1/partnerships`` — the caller's partnerships (the operator: all), key ``partnerships``,
  paged (``?limit``, ``next``); ``GET /v1/partnerships/{id}`` — one of them.
* ``PUT /v1/terms/default`` (operator) — the network default terms (version = previous + 1);
  ``GET /v1/terms/default`` — any authenticated caller (404 while none is set).

The state machine is :mod:`streams.partnerships.machine`; every refused request publishes nothing.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from pydantic import Field

from connectors.http.auth import authenticate, require_admin, require_partner
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.paging import page
from connectors.http.state import ApiState, state_of, utcnow
from schemas.common import Contract, PartnerId
from schemas.partnership import NETWORK_TERMS_KEY, NetworkTerms, Partnership
from schemas.terms import Terms
from streams.partnerships.machine import Refusal, accept, end, propose, propose_terms

__all__ = ["ProposePartnership", "add_partnership_routes", "partnership_body"]


class ProposePartnership(Contract):
    partner_id: PartnerId = Field(description="The partner the caller proposes a partnership to.")
    terms: Terms


def partnership_body(p: Partnership) -> dict[str, Any]:
    return p.model_dump(mode="json")


def _mine(state: ApiState, partnership_id: str, partner_id: str | None) -> Partnership:
    """The partnership if the caller is a side of it (or the operator); else 404."""
    p = state.views.commerce.partnerships.get(partnership_id)
    if p is None or (partner_id is not None and partner_id not in (p.proposer, p.partner)):
        raise ApiError(404, f"no partnership {partnership_id} of yours")
    return p


def _or_raise(result: Partnership | Refusal) -> Partnership:
    if isinstance(result, Refusal):
        raise ApiError(result.status, result.message)
    return result


async def _publish(state: ApiState, p: Partnership) -> None:
    await state.visible(await state.publisher.publish("partnerships", p.partnership_id, p))


async def post_partnership(request: web.Request) -> web.Response:
    me = require_partner(request)
    body, _ = await read_json(request, ProposePartnership)
    state = state_of(request)
    if body.partner_id not in state.views.profiles:
        raise ApiError(404, f"no partner {body.partner_id}")
    pair = "|".join(sorted((me, body.partner_id)))
    async with state.lock(f"partnership-pair:{pair}"):
        live = state.views.commerce.live_between(me, body.partner_id)
        if live is not None:
            raise ApiError(
                409, f"partnership {live.partnership_id} with {body.partner_id} is {live.status}"
            )
        p = _or_raise(
            propose(f"ps_{secrets.token_hex(10)}", me, body.partner_id, body.terms, utcnow())
        )
        await _publish(state, p)
    return json_response(
        partnership_body(p),
        status=201,
        headers={"Location": f"/v1/partnerships/{p.partnership_id}"},
    )


async def _act(request: web.Request, action: str) -> web.Response:
    me = require_partner(request)
    pid = request.match_info["partnership_id"]
    state = state_of(request)
    _mine(state, pid, me)  # 404 before anything else, the body included
    terms: Terms | None = None
    if action == "terms":
        terms = (await read_json(request, Terms))[0]
    async with state.lock(f"partnership:{pid}"):
        current = _mine(state, pid, me)
        now = utcnow()
        if action == "accept":
            result = accept(current, me, now)
        elif action == "end":
            result = end(current, me, now)
        else:
            assert terms is not None
            result = propose_terms(current, me, terms, now)
        nxt = _or_raise(result)
        if nxt is not current:
            await _publish(state, nxt)
    return json_response(partnership_body(nxt))


async def accept_partnership(request: web.Request) -> web.Response:
    return await _act(request, "accept")


async def end_partnership(request: web.Request) -> web.Response:
    return await _act(request, "end")


async def put_terms(request: web.Request) -> web.Response:
    return await _act(request, "terms")


async def list_partnerships(request: web.Request) -> web.Response:
    principal = authenticate(request)
    found = state_of(request).views.commerce.partnerships_of(principal.partner_id)
    wanted = request.query.get("status")
    if wanted is not None:
        if wanted not in ("proposed", "active", "ended"):
            raise ApiError(400, f"status: {wanted!r} is not one of proposed, active, ended")
        found = [p for p in found if p.status == wanted]
    items, cursor = page(request, found, key=lambda p: (p.partnership_id,))
    return json_response({"partnerships": [partnership_body(p) for p in items], "next": cursor})


async def get_partnership(request: web.Request) -> web.Response:
    principal = authenticate(request)
    p = _mine(state_of(request), request.match_info["partnership_id"], principal.partner_id)
    return json_response(partnership_body(p))


async def put_default_terms(request: web.Request) -> web.Response:
    require_admin(request)
    terms, _ = await read_json(request, Terms)
    state = state_of(request)
    async with state.lock("network-terms"):
        current = state.views.commerce.network
        revision = current.revision + 1 if current is not None else 1
        record = NetworkTerms(
            terms=terms.model_copy(update={"version": revision}),
            revision=revision,
            updated_at=utcnow(),
        )
        await state.visible(
            await state.publisher.publish("partnerships", NETWORK_TERMS_KEY, record)
        )
    return json_response(record)


async def get_default_terms(request: web.Request) -> web.Response:
    authenticate(request)
    current = state_of(request).views.commerce.network
    if current is None:
        raise ApiError(404, "no network default terms are set")
    return json_response(current)


def add_partnership_routes(app: web.Application) -> None:
    app.router.add_post("/v1/partnerships", post_partnership)
    app.router.add_get("/v1/partnerships", list_partnerships)
    app.router.add_get("/v1/partnerships/{partnership_id}", get_partnership)
    app.router.add_post("/v1/partnerships/{partnership_id}/accept", accept_partnership)
    app.router.add_post("/v1/partnerships/{partnership_id}/end", end_partnership)
    app.router.add_put("/v1/partnerships/{partnership_id}/terms", put_terms)
    app.router.add_put("/v1/terms/default", put_default_terms)
    app.router.add_get("/v1/terms/default", get_default_terms)
