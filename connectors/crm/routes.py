"""CRM inbound endpoints: ``POST /v1/crm/hubspot/{partner_id}``, ``POST /v1/crm/salesforce/{partner_id}``.

The CRM authenticates by signing (no API key): the partner's CRM file (``Settings.crm_dir``, see
:mod:`connectors.crm.mapping`) holds the secret and the field mapping. In order, before anything is
published:

1. the partner must be registered and have a CRM file for this provider (else ``404``);
2. the body is read with a size limit (``413``);
3. the signature and its timestamp are checked (``401``: missing, stale or bad signature);
4. the payload is mapped (HubSpot may send a list of deals: all of them or none) and validated as
   ``POST /v1/opportunities`` validates (``400`` malformed JSON, ``422`` naming each bad field);
5. the same signed request twice is a replay (``409``);
6. each opportunity is published as that partner, with the same semantics as the HTTP API
   (``202`` only after the broker acknowledged; same id with other content ``409``).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from connectors.crm.mapping import (
    CrmConfigError,
    CrmConfigs,
    MappingRuleError,
    Provider,
    ProviderConfig,
    apply_mapping,
)
from connectors.crm.signatures import SignatureError, verify_hubspot, verify_salesforce
from connectors.http.errors import ApiError, json_response, read_body
from connectors.http.guards import SharedReplayGuard
from connectors.http.models import OpportunityAccepted
from connectors.http.routes_opportunities import publish_opportunity
from connectors.http.routes_partners import partner_id_param
from connectors.http.state import STATE, state_of
from schemas.errors import FieldError, field_errors
from schemas.input_rules import input_errors
from schemas.opportunity import OpportunityInput

__all__ = ["MAX_CRM_BODY", "CrmAccepted", "add_crm_routes"]

log = logging.getLogger("oppbus.api.crm")

MAX_CRM_BODY = 256 * 1024
MAX_DEALS = 100
CONFIGS = web.AppKey("oppbus_crm_configs", CrmConfigs)
REPLAYS = web.AppKey("oppbus_crm_replays", SharedReplayGuard)


class CrmAccepted(BaseModel):
    """``202`` of a CRM webhook: what ``POST /v1/opportunities`` answers, for each deal."""

    opportunities: list[OpportunityAccepted]


def _signed_uri(request: web.Request, public_url: str | None) -> str:
    if public_url:
        return public_url.rstrip("/") + request.path_qs
    return str(request.url)


def _verify(
    request: web.Request, provider: Provider, config: ProviderConfig, body: bytes
) -> tuple[str, float]:
    settings = state_of(request).settings
    secret = config.secret.get_secret_value()
    try:
        if provider == "hubspot":
            return verify_hubspot(
                secret,
                request.method,
                _signed_uri(request, settings.crm_public_url),
                request.headers,
                body,
                now=time.time(),
                tolerance_s=settings.crm_tolerance_s,
            )
        return verify_salesforce(
            secret, request.headers, body, now=time.time(), tolerance_s=settings.crm_tolerance_s
        )
    except SignatureError as exc:
        raise ApiError(401, str(exc), code=exc.code) from None


def _opportunities(config: ProviderConfig, body: bytes) -> list[OpportunityInput]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}", code="malformed_json") from None
    deals: list[Any] = payload if isinstance(payload, list) else [payload]
    if not deals or len(deals) > MAX_DEALS or not all(isinstance(d, dict) for d in deals):
        raise ApiError(
            400, f"send one deal object or a list of 1-{MAX_DEALS}", code="malformed_json"
        )
    out: list[OpportunityInput] = []
    errors: list[FieldError] = []
    for i, deal in enumerate(deals):
        prefix = f"{i}." if isinstance(payload, list) else ""
        try:
            opportunity = OpportunityInput.model_validate(apply_mapping(config.mapping, deal))
        except MappingRuleError as exc:
            errors.append(
                FieldError(field=prefix + exc.target, message=exc.message, type="mapping")
            )
        except ValidationError as exc:
            errors.extend(
                FieldError(field=prefix + e.field, message=e.message, type=e.type)
                for e in field_errors(exc)
            )
        else:
            rules = input_errors(opportunity, datetime.now(UTC).date())
            errors.extend(
                FieldError(field=prefix + e.field, message=e.message, type=e.type) for e in rules
            )
            out.append(opportunity)
    if errors:
        raise ApiError(422, "the CRM payload does not map to a valid opportunity", errors=errors)
    return out


async def _inbound(request: web.Request, provider: Provider) -> web.Response:
    partner_id = partner_id_param(request)
    state = state_of(request)
    try:
        config = request.app[CONFIGS].provider(partner_id, provider)
    except CrmConfigError as exc:
        # An operator's error: the answer and the log say which setting and why.
        log.error("CRM configuration of partner %s is invalid: %s", partner_id, exc)
        raise ApiError(
            503, f"this partner's CRM configuration is invalid: {exc}", code="crm_config"
        ) from None
    if config is None or partner_id not in state.views.profiles:
        raise ApiError(404, f"no {provider} integration for partner {partner_id}")
    body = await read_body(request, MAX_CRM_BODY)
    signature, timestamp = _verify(request, provider, config, body)
    opportunities = _opportunities(config, body)
    replays = request.app[REPLAYS]
    claim = await replays.reserve(f"{provider}:{partner_id}:{signature}", timestamp)
    if claim is None:
        raise ApiError(409, "this signed request was already received", code="replayed")
    results: list[Any] = []
    try:
        for opportunity in opportunities:
            response = await publish_opportunity(state, partner_id, opportunity)
            assert isinstance(response.body, bytes)
            results.append(orjson.loads(response.body))
    except BaseException:
        # Not (fully) published: the CRM's retry must get through. Publishing is idempotent per
        # opportunity id, so what did get published is not published twice.
        await replays.release(claim)
        raise
    await replays.accepted(claim)
    return json_response({"opportunities": results}, status=202)


async def post_hubspot(request: web.Request) -> web.Response:
    return await _inbound(request, "hubspot")


async def post_salesforce(request: web.Request) -> web.Response:
    return await _inbound(request, "salesforce")


def add_crm_routes(app: web.Application) -> None:
    settings = app[STATE].settings
    app[CONFIGS] = CrmConfigs(settings.crm_dir)
    app[REPLAYS] = SharedReplayGuard(app[STATE].guards, settings.crm_tolerance_s)
    app.router.add_post("/v1/crm/hubspot/{partner_id}", post_hubspot)
    app.router.add_post("/v1/crm/salesforce/{partner_id}", post_salesforce)
