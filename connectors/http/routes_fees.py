"""Fees: the caller's fee entries, settling one, and a partner's statement.

* ``GET /v1/fees`` — the caller's fee entries as payer or payee (the operator: all), key ``fees``,
  oldest first, paged (``?limit``, ``next``), ``?status=`` filters.
* ``POST /v1/fees/{fee_id}/settle`` ``{reference}`` — the payee confirms it was paid: ``settled``.
  Only the payee (the payer: ``403``; anyone else: ``404``); a fee not approved yet, reversed, or
  settled with another reference: ``409``. Settling again with the same reference is a no-op.
* ``GET /v1/partners/{partner_id}/statement?from=DATE&to=DATE`` — fees accrued from ``from`` to
  ``to`` (both days included, UTC) that stand: ``counterparties: [{partner_id, currency,
  receivable, payable, net}]`` and ``position`` (the partner's net against the whole network per
  currency, multi-party netting). ``Accept: text/csv`` gives the rows as CSV. The partner itself
  or the operator.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

from connectors.http.auth import authenticate, require_admin_or_partner, require_partner
from connectors.http.commerce import fee_body
from connectors.http.commerce_models import FeeSettleInput
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.paging import page
from connectors.http.routes_partners import partner_id_param
from connectors.http.state import state_of, utcnow
from schemas.currency_units import minor_units
from schemas.errors import FieldError
from streams.fees.book import record_of
from streams.fees.ledger import settle
from streams.fees.statement import positions, statement

__all__ = ["add_fee_routes"]

FEE_STATUSES = ("pending", "approved", "settled", "reversed")


async def list_fees(request: web.Request) -> web.Response:
    principal = authenticate(request)
    fees = state_of(request).views.commerce.fees_of(principal.partner_id)
    wanted = request.query.get("status")
    if wanted is not None:
        if wanted not in FEE_STATUSES:
            raise ApiError(400, f"status: {wanted!r} is not one of {', '.join(FEE_STATUSES)}")
        fees = [f for f in fees if f.status == wanted]
    items, cursor = page(request, fees, key=lambda f: (f.accrued_at.isoformat(), f.fee_id))
    return json_response({"fees": [fee_body(f) for f in items], "next": cursor})


async def settle_fee(request: web.Request) -> web.Response:
    me = require_partner(request)
    fee_id = request.match_info["fee_id"]
    state = state_of(request)
    commerce = state.views.commerce
    fee = commerce.fees.get(fee_id)
    if fee is None or me not in (fee.payer, fee.payee):
        raise ApiError(404, f"no fee {fee_id} of yours")
    body, _ = await read_json(request, FeeSettleInput)
    async with state.lock(f"fee:{fee_id}"):
        fee = commerce.fees[fee_id]
        result = settle(fee, by=me, reference=body.reference, at=utcnow())
        if isinstance(result, str):
            raise ApiError(403 if me != fee.payee else 409, result)
        if result.event_id not in commerce.fee_records:
            accrued = commerce.fee_records[f"{fee_id}.accrued"]
            record = record_of(result, accrued.opportunity_id, accrued.originator)
            await state.visible(await state.publisher.publish("fees", record.event_id, record))
    return json_response(fee_body(commerce.fees[fee_id]))


def _day(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            422,
            f"invalid {name}",
            errors=[FieldError(field=name, message="must be a date like 2027-01-31", type="date")],
        ) from None


def _money(amount: Decimal, currency: str) -> str:
    """An amount with its currency's minor unit (``0.00`` USD, ``0`` JPY, ``0.000`` BHD)."""
    digits = minor_units(currency)
    if digits is None:
        return format(amount, "f")
    return format(amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN), "f")


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["partner_id", "currency", "receivable", "payable", "net"]
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def get_statement(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    start_day, end_day = _day(request, "from"), _day(request, "to")
    if start_day and end_day and end_day < start_day:
        raise ApiError(
            422,
            "to is before from",
            errors=[FieldError(field="to", message="must not be before from", type="range")],
        )
    start = datetime.combine(start_day, time(), UTC) if start_day else None
    end = datetime.combine(end_day + timedelta(days=1), time(), UTC) if end_day else None
    fees = state_of(request).views.commerce.fees.values()
    rows = [
        {
            "partner_id": r.partner_id,
            "currency": r.currency,
            "receivable": _money(r.receivable, r.currency),
            "payable": _money(r.payable, r.currency),
            "net": _money(r.net, r.currency),
        }
        for r in statement(partner_id, fees, start, end)
    ]
    if "text/csv" in request.headers.get("Accept", ""):
        return web.Response(body=_csv(rows), content_type="text/csv")
    position = positions(fees, start, end).get(partner_id, {})
    return json_response(
        {
            "partner_id": partner_id,
            "from": start_day.isoformat() if start_day else None,
            "to": end_day.isoformat() if end_day else None,
            "counterparties": rows,
            "position": {c: _money(v, c) for c, v in sorted(position.items())},
        }
    )


def add_fee_routes(app: web.Application) -> None:
    app.router.add_get("/v1/fees", list_fees)
    app.router.add_post("/v1/fees/{fee_id}/settle", settle_fee)
    app.router.add_get("/v1/partners/{partner_id}/statement", get_statement)
