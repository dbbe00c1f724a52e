"""The OpenAPI 3.1 document of the API, generated from the route table and the pydantic models.

The document is checked in next to this module (``openapi.json``) and served at ``/openapi.json``;
a test checks that the generated, the checked-in and the served documents are the same. After
changing a route or a model, regenerate it::

    python -m connectors.http.openapi --write
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from connectors.http import models as m
from connectors.http.limits import EXEMPT_PATHS
from connectors.http.openapi_rules import PARAMETERS, constrain_bodies
from connectors.http.paging import PAGE_PARAMS
from schemas.opportunity import OpportunityInput
from schemas.partner import PartnerProfile, PartnerProfileInput
from schemas.scorecard import PartnerScorecard

__all__ = ["DOCUMENT_PATH", "Route", "add_openapi_route", "build_document", "main"]

DOCUMENT_PATH = Path(__file__).resolve().parent / "openapi.json"
_REF = "#/components/schemas/{model}"

ERRORS = {
    400: "malformed JSON or parameters",
    401: "missing, invalid or revoked bearer token",
    403: "authenticated, but not allowed to act on this",
    404: "no such object of yours",
    409: "conflict: illegal transition, or already exists with other content",
    408: "the request body did not arrive in time",
    413: "request body too large",
    429: "too many requests, streams or customers checked from this client (see Retry-After)",
    415: "the body is not application/json",
    422: "the body is invalid: `errors` names each bad field",
    503: "overloaded, or the broker did not acknowledge (retry; see Retry-After)",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    auth: str  # "admin", "partner", "admin-or-partner", "none"
    ok: dict[int, type[BaseModel] | str]
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    # (name, in, description[, schema]): the schema, when given, overrides PARAMETERS[name]
    params: tuple[tuple[Any, ...], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _routes() -> tuple[Route, ...]:
    from connectors.http.routes_opportunities import RerouteInput, WithdrawInput
    from connectors.http.routes_referrals import AcceptInput, DeclineInput, OutcomeInput

    pid = (("partner_id", "path", "the partner's id"),)
    rid = (("referral_id", "path", "the referral's id (ref_...)"),)
    oid = (("opportunity_id", "path", "the opportunity's id (unique per originator)"),)
    idem = (("Idempotency-Key", "header", "replays the first response of a retried POST"),)
    wait = (("Prefer", "header", "wait=N: wait up to N s (max 30) for the ledger's result"),)
    acting = (400, 401, 403, 404, 409, 413, 415, 422, 503)
    fmt = (
        (
            "format",
            "query",
            "oppbus (default), microsoft (Partner Center referral) or aws "
            "(Partner Central opportunity): that shape, with `dropped` (what it cannot carry)",
        ),
    )
    return (
        Route("put", "/v1/partners/{partner_id}", "Register (admin) or update a partner",
              "admin-or-partner", {200: PartnerProfile, 201: m.PartnerRegistered},
              PartnerProfileInput, (400, 401, 403, 413, 415, 422, 503), pid),
        Route("patch", "/v1/partners/{partner_id}",
              "Change some profile fields (JSON merge patch, RFC 7396; null restores a default)",
              "admin-or-partner", {200: PartnerProfile}, m.PartnerPatch,
              (400, 401, 403, 404, 413, 415, 422, 503), pid),
        Route("get", "/v1/partners/{partner_id}", "A partner's profile", "admin-or-partner",
              {200: PartnerProfile}, None, (401, 403, 404, 422), pid),
        Route("post", "/v1/partners/{partner_id}/api-key", "Rotate the partner's API key",
              "admin-or-partner", {201: m.ApiKeyIssued}, None, (401, 403, 404, 422, 503), pid),
        Route("delete", "/v1/partners/{partner_id}/api-key", "Revoke the partner's API key",
              "admin-or-partner", {204: "revoked"}, None, (401, 403, 404, 422, 503), pid),
        Route("get", "/v1/partners/{partner_id}/scorecard", "The partner's scorecard",
              "admin-or-partner", {200: PartnerScorecard}, None, (401, 403, 404, 422), pid),
        *_trust_routes(pid),
        Route("post", "/v1/opportunities", "Publish an opportunity as the calling partner",
              "partner", {202: m.OpportunityAccepted}, OpportunityInput,
              (400, 401, 403, 409, 413, 415, 422, 503), idem),
        Route("get", "/v1/opportunities/{opportunity_id}",
              "Routing state and every offer of one of your opportunities", "partner",
              {200: m.OpportunityView}, None, (400, 401, 404), oid + fmt),
        Route("post", "/v1/opportunities/{opportunity_id}/withdraw",
              "Withdraw one of your opportunities", "partner", {202: "withdrawn"},
              WithdrawInput, acting, oid + idem),
        Route("post", "/v1/opportunities/{opportunity_id}/reroute",
              "Re-open one of your exhausted or unroutable opportunities (those tried stay out)",
              "partner", {202: "rerouted"}, RerouteInput, acting, oid + idem),
        Route("get", "/v1/leads", "Your leads (the offers routed to you), oldest first, paged",
              "partner", {200: m.LeadList}, None, (400, 401, 403),
              (("status", "query", "only leads in this status (repeatable)"), *PAGE_PARAMS,
               *fmt)),
        Route("get", "/v1/leads/stream", "Your leads as Server-Sent Events", "partner",
              {200: "text/event-stream: `event: lead`, `id: <epoch>-<seq>`, data = Lead"},
              None, (401, 403),
              (("Last-Event-ID", "header", "resume after this event id"),)),
        Route("get", "/v1/leads/{referral_id}", "One of your leads", "partner",
              {200: m.Lead}, None, (401, 403, 404), rid),
        Route("post", "/v1/referrals/{referral_id}/accept", "Accept a referral you hold",
              "partner", {200: m.Lead, 202: m.CommandAccepted}, AcceptInput, acting,
              rid + idem + wait),
        Route("post", "/v1/referrals/{referral_id}/decline", "Decline a referral you hold",
              "partner", {200: m.Lead, 202: m.CommandAccepted}, DeclineInput, acting,
              rid + idem + wait),
        Route("post", "/v1/referrals/{referral_id}/outcome",
              "Report won (amount, currency) or lost (reason)", "partner",
              {200: m.Lead, 202: m.CommandAccepted}, OutcomeInput, acting, rid + idem + wait),
        Route("get", "/v1/me", "Whose API key this is (the partner inbox signs in with it)",
              "partner", {200: m.Whoami}, None, (401, 403)),
        Route("get", "/inbox", "The partner inbox page (HTML; its files under /inbox/)", "none",
              {200: "text/html"}),
        *_admin_routes(),
        Route("post", "/v1/interop/microsoft/referrals",
              "A Partner Center referral (its API's JSON) becomes your opportunity", "partner",
              {202: m.InteropAccepted}, None, (400, 401, 403, 409, 413, 415, 422, 503), idem),
        Route("post", "/v1/interop/aws/opportunities",
              "An AWS Partner Central opportunity (its JSON) becomes your opportunity",
              "partner", {202: m.InteropAccepted}, None,
              (400, 401, 403, 409, 413, 415, 422, 503), idem),
        *_connector_routes(pid),
        *_commerce_routes(pid),
        Route("get", "/healthz", "The bus routes: broker, read model and a ready worker "
              "holding every opportunities partition (503 names what is still starting)", "none",
              {200: m.Health, 503: m.Health}),
        Route("get", "/livez", "This API process answers", "none", {200: m.Live}),
        Route("get", "/metrics", "Prometheus metrics", "none", {200: "text/plain exposition"}),
        Route("get", "/openapi.json", "This document", "none", {200: "OpenAPI 3.1"}),
    )  # fmt: skip


def _admin_routes() -> tuple[Route, ...]:
    """The operator's routes (``connectors/http/routes_admin.py``)."""
    from connectors.http.routes_admin import ResolveInput

    one = "/v1/admin/opportunities/{originator}/{opportunity_id}"
    both = (
        ("originator", "path", "the originator's partner id"),
        ("opportunity_id", "path", "the opportunity's id"),
    )
    filters = tuple(
        (n, "query", d)
        for n, d in (
            ("capability", "only partners offering this capability"),
            ("region", "only partners serving this region (a country covers its subdivisions)"),
            ("kind", "reseller|distributor|msp|consultant|isv"),
            ("accepting", "true|false"),
        )
    )
    from connectors.http.standing import STATUSES

    status = (("status", "query", "only opportunities in this status (repeatable)",
               {"type": "string", "enum": list(STATUSES)}),)  # fmt: skip
    return (
        Route("get", "/v1/admin/partners", "Every partner profile, by partner id, paged",
              "admin", {200: m.PartnerList}, None, (400, 401, 403), filters + PAGE_PARAMS),
        Route("get", "/v1/admin/opportunities", "Every opportunity, oldest first, paged",
              "admin", {200: m.OpportunityList}, None, (400, 401, 403), status + PAGE_PARAMS),
        Route("get", one, "Any opportunity with its full routing history", "admin",
              {200: m.AdminOpportunityView}, None, (401, 403, 404), both),
        Route("post", one + "/resolve",
              "Resolve a conflict: route it anyway or reject it, with the reason (an event)",
              "admin", {202: m.Resolved}, ResolveInput, (400, 401, 403, 404, 409, 415, 422, 503),
              (*both, ("Idempotency-Key", "header", "replays the first response"))),
    )  # fmt: skip


def _trust_routes(pid: tuple[tuple[str, str, str], ...]) -> tuple[Route, ...]:
    """Routes of ``connectors.http.routes_trust``: what only the operator sets on a profile."""
    from connectors.http.routes_trust import CapacityCapInput, VerifyCertificationInput

    errors = (400, 401, 403, 404, 413, 415, 422, 503)
    return (
        Route("post", "/v1/admin/partners/{partner_id}/certifications/verify",
              "Verify (or un-verify) a partner's certifications of one vendor and capability",
              "admin", {200: PartnerProfile}, VerifyCertificationInput, errors, pid),
        Route("put", "/v1/admin/partners/{partner_id}/capacity-cap",
              "Cap a partner's capacity (null lifts the cap)", "admin", {200: PartnerProfile},
              CapacityCapInput, errors, pid),
    )  # fmt: skip


def _connector_routes(pid: tuple[tuple[str, str, str], ...]) -> tuple[Route, ...]:
    """Routes of ``connectors.http.extensions``: outbound webhooks and CRM inbound."""
    from connectors.crm.routes import CrmAccepted
    from connectors.webhooks.admin_routes import (
        DELIVERY_STATUSES,
        AdminDeliveryList,
        RedriveAccepted,
    )
    from connectors.webhooks.routes import DeliveryLog, WebhookInput, WebhookView

    hook = "/v1/partners/{partner_id}/webhook"
    signed = (
        ("X-HubSpot-Signature-v3", "header", "HubSpot v3 signature"),
        ("X-HubSpot-Request-Timestamp", "header", "milliseconds; 5-minute tolerance"),
    )
    shared = (
        ("X-Oppbus-Signature", "header", "base64 HMAC-SHA256 of timestamp.body"),
        ("X-Oppbus-Timestamp", "header", "Unix seconds; 5-minute tolerance"),
    )
    crm_errors = (400, 401, 404, 409, 413, 422, 503)
    wanted = (
        ("status", "query", "only deliveries in this status (repeatable); redriving: a redrive "
         "was asked and has not settled", {"type": "string", "enum": list(DELIVERY_STATUSES)}),
        ("partner_id", "query", "only this partner's deliveries"),
    )  # fmt: skip
    redrive = "/v1/admin/webhook-deliveries/{webhook_id}/redrive"
    return (
        Route("get", "/v1/admin/webhook-deliveries",
              "Every settled webhook delivery (dead, delivered, redriving), oldest first, paged",
              "admin", {200: AdminDeliveryList}, None, (400, 401, 403), wanted + PAGE_PARAMS),
        Route("post", redrive,
              "Redrive a dead webhook delivery: delivered once, same webhook-id (an event)",
              "admin", {202: RedriveAccepted}, None, (400, 401, 403, 404, 409, 422, 503),
              (("webhook_id", "path", "the delivery's webhook_id"),
               ("Idempotency-Key", "header", "replays the first response"))),
        Route("put", hook, "Register or change the partner's webhook (Standard Webhooks signed)",
              "admin-or-partner", {200: WebhookView, 201: WebhookView}, WebhookInput,
              (400, 401, 403, 404, 413, 415, 422, 503), pid),
        Route("get", hook, "The partner's webhook (without its secret)", "admin-or-partner",
              {200: WebhookView}, None, (401, 403, 404, 422), pid),
        Route("delete", hook, "Stop the partner's webhook deliveries", "admin-or-partner",
              {204: "stopped"}, None, (401, 403, 404, 422, 503), pid),
        Route("get", hook + "/deliveries", "The partner's webhook delivery log",
              "admin-or-partner", {200: DeliveryLog}, None, (401, 403, 422),
              (*pid, ("referral_id", "query", "only this lead's deliveries"), *PAGE_PARAMS)),
        Route("post", "/v1/crm/hubspot/{partner_id}",
              "HubSpot deal webhook -> opportunity of that partner (signature-authenticated)",
              "none", {202: CrmAccepted}, None, crm_errors, pid + signed),
        Route("post", "/v1/crm/salesforce/{partner_id}",
              "Salesforce callout -> opportunity of that partner (shared-secret HMAC)",
              "none", {202: CrmAccepted}, None, crm_errors, pid + shared),
    )  # fmt: skip


def _commerce_routes(pid: tuple[tuple[str, str, str], ...]) -> tuple[Route, ...]:
    """Partnerships, terms, the directory and fees (``connectors/http/routes_partnerships.py`` ...)."""
    from connectors.http import commerce_models as c
    from connectors.http.routes_partnerships import ProposePartnership
    from schemas.partnership import NetworkTerms, Partnership
    from schemas.terms import Terms

    ps = "/v1/partnerships/{partnership_id}"
    psid = (("partnership_id", "path", "the partnership's id (ps_...)"),)
    paged = PAGE_PARAMS
    acting = (401, 403, 404, 409, 503)
    return (
        Route("post", "/v1/partnerships", "Propose a partnership with terms to another partner",
              "partner", {201: Partnership}, ProposePartnership,
              (400, 401, 403, 404, 409, 413, 415, 422, 503)),
        Route("get", "/v1/partnerships", "Your partnerships (the operator: all)",
              "admin-or-partner", {200: c.PartnershipList}, None, (400, 401, 422),
              (*paged, ("status", "query", "proposed, active or ended",
                        {"type": "string", "enum": ["proposed", "active", "ended"]}))),
        Route("get", ps, "One of your partnerships", "admin-or-partner", {200: Partnership},
              None, (401, 404), psid),
        Route("post", ps + "/accept", "Accept the proposal, or the new terms the other side "
              "proposed (only the side awaited)", "partner", {200: Partnership}, None,
              acting, psid),
        Route("post", ps + "/end", "End the partnership (either side)", "partner",
              {200: Partnership}, None, acting, psid),
        Route("put", ps + "/terms", "Propose the next version of the terms (in force once the "
              "other side accepts)", "partner", {200: Partnership}, Terms,
              (*acting, 400, 413, 415, 422), psid),
        Route("get", "/v1/directory", "Your long-list of listed partners that complement you "
              "and would not compete with you, ranked and explained (public fields only)",
              "partner", {200: c.DirectoryList}, None, (400, 401, 403, 404, 422),
              (("needs", "query", "capabilities wanted, comma-separated"),
               ("region", "query", "ISO 3166 region"), ("industry", "query", "optional"),
               *paged)),
        Route("get", "/v1/fees", "Your fee entries as payer or payee (the operator: all)",
              "admin-or-partner", {200: c.FeeList}, None, (400, 401, 422),
              (*paged, ("status", "query", "pending, approved, settled or reversed",
                        {"type": "string", "enum": ["pending", "approved", "settled", "reversed"]}))),
        Route("post", "/v1/fees/{fee_id}/settle", "The payee confirms the fee was paid "
              "(approved fees only)", "partner", {200: c.FeeView}, c.FeeSettleInput,
              (400, 401, 403, 404, 409, 413, 415, 422, 503),
              (("fee_id", "path", "the fee's id (fee_...)"),)),
        Route("get", "/v1/partners/{partner_id}/statement", "Receivable, payable and net per "
              "counterparty and currency (Accept: text/csv for CSV)", "admin-or-partner",
              {200: c.Statement}, None, (401, 403, 422),
              (*pid, ("from", "query", "first day, YYYY-MM-DD"),
               ("to", "query", "last day (included), YYYY-MM-DD"))),
        Route("put", "/v1/terms/default", "Set the network default terms", "admin",
              {200: NetworkTerms}, Terms, (400, 401, 403, 413, 415, 422, 503)),
        Route("get", "/v1/terms/default", "The network default terms", "admin-or-partner",
              {200: NetworkTerms}, None, (401, 404)),
    )  # fmt: skip


def _schemas(routes: tuple[Route, ...]) -> dict[str, Any]:
    wanted: set[type[BaseModel]] = {m.ErrorBody}
    for r in routes:
        wanted.update(v for v in r.ok.values() if isinstance(v, type))
        if r.body is not None:
            wanted.add(r.body)
    ordered = sorted(wanted, key=lambda t: t.__name__)
    pairs = [
        (t, "serialization" if t.__module__.endswith("models") else "validation") for t in ordered
    ]
    _, top = models_json_schema(pairs, ref_template=_REF)  # type: ignore[arg-type]
    defs: dict[str, Any] = top.get("$defs", {})
    constrain_bodies(defs, {r.body.__name__ for r in routes if r.body is not None})
    return dict(sorted(defs.items()))


def _content(model: type[BaseModel] | str) -> dict[str, Any]:
    if isinstance(model, str):
        return {"description": model}
    return {
        "description": model.__doc__.strip().splitlines()[0] if model.__doc__ else model.__name__,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }


def _shed(r: Route) -> set[int]:
    """What the load shedder may answer before the handler (``connectors/http/limits.py``)."""
    if r.path in EXEMPT_PATHS:
        return set()
    return {408, 413, 429, 503} if r.method in ("post", "put") else {429, 503}


def _operation(r: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": r.summary, "operationId": f"{r.method}_{r.path}"}
    if r.auth != "none":
        op["security"] = [{"bearer": []}]
        op["description"] = f"Authorisation: {r.auth}."
    else:
        op["security"] = []
    if r.params:
        op["parameters"] = [
            {"name": n, "in": where, "required": where == "path", "description": d,
             "schema": own[0] if own else PARAMETERS.get(n, {"type": "string"})}
            for n, where, d, *own in r.params
        ]  # fmt: skip
    if r.body is not None:
        op["requestBody"] = {
            "required": r.method != "post" or "accept" not in r.path,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=r.body.__name__)}}
            },
        }
    responses: dict[str, Any] = {str(code): _content(v) for code, v in sorted(r.ok.items())}
    for code in sorted(set(r.errors) | _shed(r)):
        responses[str(code)] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}},
        }
    op["responses"] = dict(sorted(responses.items()))
    return op


def build_document() -> dict[str, Any]:
    routes = _routes()
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        paths.setdefault(r.path, {})[r.method] = _operation(r)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oppbus HTTP API",
            "version": "1.0.0",
            "description": "Partners publish opportunities, receive the leads routed to them and "
            "respond; every change is an event on the bus. Bearer tokens: the operator's admin "
            "token or a partner's API key. Errors: JSON `ErrorBody`.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(routes),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def render(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


OPENAPI_KEY = web.AppKey("oppbus_openapi", bytes)


async def serve_openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_KEY], content_type="application/json")


def add_openapi_route(app: web.Application) -> None:
    app[OPENAPI_KEY] = render(build_document())
    app.router.add_get("/openapi.json", serve_openapi)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    data = render(build_document())
    if "--write" in args:
        DOCUMENT_PATH.write_bytes(data)
        print(f"wrote {DOCUMENT_PATH.name}")
    else:
        sys.stdout.write(data.decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
