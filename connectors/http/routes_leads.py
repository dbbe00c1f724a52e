"""The calling partner's leads: a list, one lead, and a Server-Sent Events stream.

* ``GET /v1/leads`` — ``{"leads": [...], "next": cursor}``, the caller's offers, oldest first
  (``?status=offered`` filters; paged, ``connectors/http/paging.py``; ``?format=microsoft|aws``
  gives them as Partner Center referrals / AWS opportunities, ``connectors/http/routes_interop``);
* ``GET /v1/leads/{referral_id}`` — one of them (anyone else's is a ``404``);
* ``GET /v1/leads/stream`` — ``text/event-stream``: one ``event: lead`` per change of one of the
  caller's leads, ``data`` = the lead as in the list (the customer once accepted), ``id`` =
  ``<epoch>-<seq>``. Reconnecting with ``Last-Event-ID`` resumes after that change; an id from
  another API process (other epoch) or none replays every current lead, so nothing is missed
  (clients may see a lead state twice: dedupe on ``referral_id`` + ``status``). A comment line is
  sent every ``heartbeat_s`` to keep proxies from closing the connection. The stream ends when the
  key is rotated or revoked, and as soon as the client disconnects. A partner may hold
  ``http_max_streams_per_partner`` streams at once (more: ``429 too_many_streams``). Each change of
  a fee the caller pays or receives is an ``event: fee`` on the same stream (``data`` = the fee as
  in ``GET /v1/fees``; ids in the same sequence).

A lead never carries another partner's data: every view is selected by the caller's partner id.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

import orjson
from aiohttp import web

from connectors.http.auth import require_partner
from connectors.http.commerce import fee_body
from connectors.http.errors import ApiError, json_response
from connectors.http.paging import page
from connectors.http.routes_interop import leads_in, wanted_format
from connectors.http.state import state_of
from connectors.http.views import Referral, Views
from schemas.fees import FeeRecorded

__all__ = ["LEAD_STATUSES", "add_lead_routes", "parse_last_event_id", "sse_event"]

LEAD_STATUSES = ("offered", "accepted", "declined", "expired", "won", "lost", "withdrawn")
HEARTBEAT_S = 15.0
HEARTBEAT_KEY = web.AppKey("oppbus_sse_heartbeat_s", float)
# How often a stream looks whether its client is still connected (aiohttp does not cancel the
# handler when the client leaves): a closed stream frees its slot within this, not a heartbeat.
DISCONNECT_POLL_S = 0.2


async def _client_gone(request: web.Request) -> None:
    """Returns once the client's connection is closed."""
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(DISCONNECT_POLL_S)


def parse_last_event_id(value: str | None, epoch: str) -> int:
    """The sequence number to resume after; 0 (replay everything) when unknown."""
    if not value:
        return 0
    tag, _, seq = value.strip().partition("-")
    if tag != epoch or not seq.isdigit():
        return 0
    return int(seq)


def sse_event(referral: Referral, epoch: str) -> bytes:
    data = orjson.dumps(referral.as_lead())
    return b"id: %s-%d\nevent: lead\ndata: %s\n\n" % (epoch.encode(), referral.seq, data)


def fee_events(views: Views, partner_id: str, since: int, epoch: str) -> list[tuple[int, bytes]]:
    """``event: fee`` for each of the partner's fees (payer or payee) changed after ``since``."""
    out = []
    for fee in views.commerce.fees_of(partner_id):
        seq = views.fee_seq.get(fee.fee_id, 0)
        if seq > since:
            data = orjson.dumps(fee_body(fee))
            out.append((seq, b"id: %s-%d\nevent: fee\ndata: %s\n\n" % (epoch.encode(), seq, data)))
    return out


async def list_leads(request: web.Request) -> web.Response:
    partner_id = require_partner(request)
    wanted = request.query.getall("status", [])
    unknown = [s for s in wanted if s not in LEAD_STATUSES]
    if unknown:
        raise ApiError(400, f"status: {unknown[0]!r} is not one of {', '.join(LEAD_STATUSES)}")
    found = [
        r for r in state_of(request).views.leads_of(partner_id) if not wanted or r.status in wanted
    ]
    fmt = wanted_format(request)
    chosen, cursor = page(request, found, _lead_order)
    if fmt is not None:  # Partner Center referrals or AWS opportunities, and what they drop
        docs, dropped = leads_in(fmt, chosen)
        body = {"format": fmt, "leads": docs, "count": len(docs), "next": cursor}
        return json_response({**body, "dropped": dropped})
    leads = [r.as_lead() for r in chosen]
    return json_response({"leads": leads, "count": len(leads), "next": cursor})


def _lead_order(referral: Referral) -> tuple[float, str]:
    """Oldest offer first (an offer's time and id never change)."""
    return referral.offer.offered_at.timestamp(), referral.referral_id


async def get_lead(request: web.Request) -> web.Response:
    partner_id = require_partner(request)
    referral_id = request.match_info["referral_id"]
    referral = state_of(request).views.referral_of(partner_id, referral_id)
    if referral is None:
        raise ApiError(404, f"no lead {referral_id} of yours")
    return json_response(referral.as_lead())


async def stream_leads(request: web.Request) -> web.StreamResponse:
    partner_id = require_partner(request)
    token = request.headers["Authorization"].partition(" ")[2].strip()
    state = state_of(request)
    heartbeat = request.app.get(HEARTBEAT_KEY, HEARTBEAT_S)
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    since = parse_last_event_id(last, state.epoch)

    wake = asyncio.Event()

    def on_change(changed: list[Referral]) -> None:
        if any(r.partner_id == partner_id for r in changed):
            wake.set()

    def on_fee(fee: FeeRecorded) -> None:
        if partner_id in (fee.payer, fee.payee):
            wake.set()

    unsubscribe = state.readmodel.listen(on_change)
    unsubscribe_fees = state.readmodel.listen_fees(on_fee)
    closing = asyncio.ensure_future(state.closing.wait())
    gone = asyncio.ensure_future(_client_gone(request))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    waiters: list[asyncio.Task[Literal[True]]] = []
    try:
        await response.prepare(request)
        await response.write(b"retry: 2000\n\n")
        while not state.closing.is_set():
            wake.clear()
            changes = [(r.seq, sse_event(r, state.epoch)) for r in state.views.leads_of(partner_id)]
            changes += fee_events(state.views, partner_id, since, state.epoch)
            for seq, data in sorted(changes, key=lambda c: c[0]):
                if seq > since:
                    await response.write(data)
                    since = seq
            waiter = asyncio.ensure_future(wake.wait())
            waiters[:] = [waiter]
            done, _ = await asyncio.wait(
                {waiter, closing, gone}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if gone.done():
                break  # the client went away: free the slot now
            if not done:
                await response.write(b": keep-alive\n\n")
            if state.views.keys.verify(token) != partner_id:
                break  # the key was rotated or revoked: the stream ends with it
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    finally:
        unsubscribe()
        unsubscribe_fees()
        closing.cancel()
        gone.cancel()
        for pending in waiters:
            pending.cancel()
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def add_lead_routes(app: web.Application) -> None:
    app.router.add_get("/v1/leads", list_leads)
    app.router.add_get("/v1/leads/stream", stream_leads)
    app.router.add_get("/v1/leads/{referral_id}", get_lead)
