"""HTTP routes of outbound webhooks, added to the API app by ``connectors.http.extensions``.

* ``PUT /v1/partners/{partner_id}/webhook`` — the operator or that partner registers or changes its
  endpoint: ``{url, events?, secret?, rotate_secret?}`` (``events``: ``lead.*`` and ``fee.*``, all by
  default). The URL passes the SSRF guard first (422
  naming ``url``). The signing secret (``whsec_…``) is generated on creation and on
  ``rotate_secret``, and shown in that response only. ``201`` on creation, else ``200``.
* ``GET /v1/partners/{partner_id}/webhook`` — the subscription, without its secret.
* ``DELETE /v1/partners/{partner_id}/webhook`` — stop deliveries (``204``).
* ``GET /v1/partners/{partner_id}/webhook/deliveries[?referral_id=…]`` — the delivery log: each
  settled delivery (delivered or dead) with every attempt, for that partner's leads only; oldest
  first, paged (``?limit=``, ``?next=``).

Subscriptions go to the compacted ``webhooks`` topic (acks=all) through the API's publisher; this
module follows ``webhooks``, ``webhook-deliveries`` and ``webhook-redrives`` in the API process, so a write is visible to
the next read (read-your-writes) and the log is served from memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import Field

from connectors.http.auth import require_admin_or_partner
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.paging import page
from connectors.http.routes_partners import partner_id_param
from connectors.http.state import STATE, state_of, utcnow
from connectors.webhooks.admin_routes import add_admin_webhook_routes
from connectors.webhooks.signing import generate_secret
from connectors.webhooks.ssrf import TargetPolicy, UnsafeTarget, check_url
from connectors.webhooks.views import FOLLOWER, VIEWS, WebhookViews
from schemas.common import Contract, PartnerId, UtcDatetime
from schemas.errors import FieldError
from schemas.webhooks import WEBHOOK_EVENTS, WebhookDelivery, WebhookEvent, WebhookSubscription
from streams.event_sink import EventFollower

__all__ = ["DeliveryLog", "WebhookInput", "WebhookView", "add_webhook_routes"]


class WebhookInput(Contract):
    """Body of ``PUT /v1/partners/{partner_id}/webhook``."""

    url: str = Field(min_length=8, max_length=2000)
    events: tuple[WebhookEvent, ...] = Field(
        default=WEBHOOK_EVENTS,
        min_length=1,
        max_length=len(WEBHOOK_EVENTS),
        description="lead.* (the partner's leads) and fee.* (fees it pays or receives); "
        "default: all of them",
    )
    secret: str | None = Field(
        default=None, pattern=r"^whsec_[A-Za-z0-9+/]{32,128}={0,2}$", description="bring your own"
    )
    rotate_secret: bool = Field(default=False, strict=True)


class WebhookView(Contract):
    """A subscription as the API shows it: ``secret`` only when it was just issued."""

    partner_id: PartnerId
    url: str
    events: tuple[WebhookEvent, ...]
    active: bool
    version: int
    updated_at: UtcDatetime
    secret: str | None = Field(default=None, description="shown once: on creation or rotation")


class DeliveryLog(Contract):
    """``GET /v1/partners/{partner_id}/webhook/deliveries``: settled deliveries, oldest first."""

    deliveries: tuple[WebhookDelivery, ...]
    next: str | None = Field(default=None, description="cursor of the next page (?next=), or null")


def _public(sub: WebhookSubscription, *, with_secret: bool) -> dict[str, Any]:
    body = sub.model_dump(mode="json", exclude={"secret"})
    if with_secret:
        body["secret"] = sub.secret
    return body


def _subscription(request: web.Request, partner_id: str) -> WebhookSubscription:
    sub = request.app[VIEWS].subscription(partner_id)
    if sub is None:
        raise ApiError(404, f"partner {partner_id} has no webhook")
    return sub


async def _publish(request: web.Request, sub: WebhookSubscription) -> None:
    state = state_of(request)
    await state.publisher.publish("webhooks", sub.partner_id, sub)
    views, follower = request.app[VIEWS], request.app[FOLLOWER]
    current = views.subscriptions

    def applied() -> bool:
        seen = current.get(sub.partner_id)
        return seen is not None and seen.version >= sub.version

    if not await follower.wait_until(applied, timeout_s=state.visibility_timeout_s):
        raise ApiError(503, "saved, but not visible yet; retry the read", code="not_yet_visible")


async def put_webhook(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    state = state_of(request)
    if partner_id not in state.views.profiles:
        raise ApiError(404, f"no partner {partner_id}")
    body, _ = await read_json(request, WebhookInput)
    try:
        check_url(body.url, TargetPolicy.parse(state.settings.webhook_allowed_networks))
    except UnsafeTarget as exc:
        error = FieldError(field="url", message=str(exc), type="unsafe_target")
        raise ApiError(422, "the webhook URL is not allowed", errors=[error]) from None
    async with state.lock(f"webhook:{partner_id}"):
        previous = request.app[VIEWS].subscriptions.get(partner_id)
        new_secret = body.secret or (
            generate_secret()
            if previous is None or not previous.active or body.rotate_secret
            else None
        )
        sub = WebhookSubscription(
            partner_id=partner_id,
            url=body.url,
            secret=new_secret or (previous.secret if previous else generate_secret()),
            events=body.events,
            active=True,
            version=(previous.version + 1) if previous else 1,
            updated_at=utcnow(),
        )
        await _publish(request, sub)
    created = previous is None or not previous.active
    return json_response(
        _public(sub, with_secret=new_secret is not None), status=201 if created else 200
    )


async def get_webhook(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    return json_response(_public(_subscription(request, partner_id), with_secret=False))


async def delete_webhook(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    state = state_of(request)
    async with state.lock(f"webhook:{partner_id}"):
        sub = _subscription(request, partner_id)
        stopped = {**sub.model_dump(), "active": False, "version": sub.version + 1}
        await _publish(request, WebhookSubscription(**{**stopped, "updated_at": utcnow()}))
    return web.Response(status=204)


async def get_deliveries(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    referral_id = request.query.get("referral_id")
    log = request.app[VIEWS].log_for(partner_id, referral_id)
    chosen, cursor = page(request, log, lambda d: (d.first_settled.timestamp(), d.webhook_id))
    return json_response(
        {"deliveries": [d.model_dump(mode="json") for d in chosen], "next": cursor}
    )


async def _follow(app: web.Application) -> AsyncIterator[None]:
    follower = app[FOLLOWER]
    await follower.start()
    try:
        yield
    finally:
        await follower.stop()


def add_webhook_routes(app: web.Application) -> None:
    """Register the routes and the follower of the webhook topics (started with the app)."""
    views = WebhookViews(retention_s=app[STATE].settings.closed_retention_s)
    app[VIEWS] = views
    app[FOLLOWER] = EventFollower(
        app[STATE].settings,
        ["webhooks", "webhook-deliveries", "webhook-redrives"],
        views.apply,
        name="api-webhooks",
    )
    app.cleanup_ctx.append(_follow)
    app.router.add_put("/v1/partners/{partner_id}/webhook", put_webhook)
    app.router.add_get("/v1/partners/{partner_id}/webhook", get_webhook)
    app.router.add_delete("/v1/partners/{partner_id}/webhook", delete_webhook)
    app.router.add_get("/v1/partners/{partner_id}/webhook/deliveries", get_deliveries)
    add_admin_webhook_routes(app)  # the operator's delivery list and redrive
