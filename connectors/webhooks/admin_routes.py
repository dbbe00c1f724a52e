"""The operator's webhook routes (admin token only; a partner's key is a ``403``, whatever the id).

* ``GET /v1/admin/webhook-deliveries`` — every settled delivery of every partner, oldest first (by
  when it first settled, then its ``webhook_id``: both never change, so a redriven delivery keeps
  its place); ``?status=dead|delivered|redriving`` (repeatable; ``redriving``: a redrive was asked
  and has not settled), ``?partner_id=``; paged (``limit``, ``next``).
* ``POST /v1/admin/webhook-deliveries/{webhook_id}/redrive`` — deliver a dead delivery again:
  published as a :class:`~schemas.webhooks.WebhookRedrive` on ``webhook-redrives`` (``202``); the
  worker's dispatcher carries it out once (connectors/webhooks/redrive.py). Asked again before it
  settles: the same ``202`` and nothing new published. ``404`` for an unknown id; ``409`` naming why
  when the delivery is not dead (``delivered``) or cannot be redriven (``no_source``: settled before
  deliveries named their event).

Added to the API app with the other webhook routes (``connectors/webhooks/routes.py``), whose
follower also reads ``webhook-redrives``.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from connectors.http.auth import require_admin
from connectors.http.errors import ApiError, json_response
from connectors.http.idempotency import with_idempotency
from connectors.http.paging import page
from connectors.http.state import state_of, utcnow
from connectors.webhooks.redrive import pending, refusal
from connectors.webhooks.views import FOLLOWER, VIEWS, WebhookViews
from schemas.common import Contract
from schemas.webhooks import WebhookDelivery, WebhookRedrive
from streams.event_sink import EventFollower

__all__ = [
    "DELIVERY_STATUSES",
    "AdminDeliveryList",
    "RedriveAccepted",
    "add_admin_webhook_routes",
]

DELIVERY_STATUSES = ("dead", "delivered", "redriving")
_WHY = {
    "delivered": "the delivery is delivered, not dead: nothing to redrive",
    "no_source": "the delivery settled before deliveries named their event: it cannot be redriven",
}


class AdminDelivery(WebhookDelivery):
    """A delivery as the operator sees it: the record plus its status."""

    status: Literal["dead", "delivered", "redriving"]
    redrive_asked: int = Field(default=0, description="the last redrive number asked (0: none)")


class AdminDeliveryList(Contract):
    """``GET /v1/admin/webhook-deliveries``."""

    deliveries: tuple[AdminDelivery, ...]
    next: str | None = Field(default=None, description="cursor of the next page (?next=), or null")


class RedriveAccepted(Contract):
    """``202`` of ``POST /v1/admin/webhook-deliveries/{webhook_id}/redrive``."""

    webhook_id: str
    partner_id: str
    redrive: int = Field(description="this redrive's number (the delivery's record will carry it)")
    status: Literal["redriving"] = "redriving"


def _status(views: WebhookViews, delivery: WebhookDelivery) -> str:
    if pending(delivery, views.redrives.get(delivery.webhook_id)):
        return "redriving"
    return delivery.outcome


def _body(views: WebhookViews, delivery: WebhookDelivery) -> dict[str, Any]:
    asked = views.redrives.get(delivery.webhook_id)
    return {
        **delivery.model_dump(mode="json"),
        "status": _status(views, delivery),
        "redrive_asked": asked.redrive if asked is not None else 0,
    }


async def list_deliveries(request: web.Request) -> web.Response:
    require_admin(request)
    wanted = request.query.getall("status", [])
    unknown = [s for s in wanted if s not in DELIVERY_STATUSES]
    if unknown:
        raise ApiError(
            400,
            f"status: {unknown[0][:40]!r} is not one of {', '.join(DELIVERY_STATUSES)}",
            code="bad_parameter",
        )
    partner_id = request.query.get("partner_id")
    views = request.app[VIEWS]
    found = [
        d
        for d in views.settled.values()
        if (partner_id is None or d.partner_id == partner_id)
        and (not wanted or _status(views, d) in wanted)
    ]
    chosen, cursor = page(request, found, lambda d: (d.first_settled.timestamp(), d.webhook_id))
    return json_response({"deliveries": [_body(views, d) for d in chosen], "next": cursor})


async def redrive(request: web.Request) -> web.Response:
    principal = require_admin(request)
    wid = request.match_info["webhook_id"]
    api = state_of(request)
    views: WebhookViews = request.app[VIEWS]
    follower: EventFollower = request.app[FOLLOWER]

    async def publish() -> web.Response:
        async with api.lock(f"redrive:{wid}"):
            current = views.settled.get(wid)
            if current is None:
                raise ApiError(404, f"no webhook delivery {wid[:80]}")
            asked = views.redrives.get(wid)
            if pending(current, asked):
                assert asked is not None  # asked again before it settled: the same answer
                return _accepted(asked)
            why = refusal(current)
            if why is not None:
                raise ApiError(409, _WHY.get(why, why), code=why)
            event = WebhookRedrive(
                webhook_id=wid,
                partner_id=current.partner_id,
                redrive=current.redrive + 1,
                requested_at=utcnow(),
                requested_by=principal.name[:100] or "admin",
            )
            await api.publisher.publish("webhook-redrives", wid, event)

            def seen() -> bool:
                got = views.redrives.get(wid)
                return got is not None and got.redrive >= event.redrive

            if not await follower.wait_until(seen, timeout_s=api.visibility_timeout_s):
                raise ApiError(503, "asked, but not visible yet; retry", code="not_yet_visible")
            return _accepted(event)

    return await with_idempotency(api.idempotency, request, principal.name, b"", publish)


def _accepted(event: WebhookRedrive) -> web.Response:
    body = RedriveAccepted(
        webhook_id=event.webhook_id, partner_id=event.partner_id, redrive=event.redrive
    )
    return json_response(body.model_dump(mode="json"), status=202)


def add_admin_webhook_routes(app: web.Application) -> None:
    app.router.add_get("/v1/admin/webhook-deliveries", list_deliveries)
    app.router.add_post("/v1/admin/webhook-deliveries/{webhook_id}/redrive", redrive)
