"""Microsoft Partner Center and AWS Partner Central shapes over the API (``connectors/interop``).

* ``POST /v1/interop/microsoft/referrals`` — the calling partner posts a Partner Center referral
  (the JSON its API returns); it becomes that partner's opportunity, published as
  ``POST /v1/opportunities`` does (same ``202``/``409``, ``Idempotency-Key`` honoured).
* ``POST /v1/interop/aws/opportunities`` — the same for an AWS Partner Central opportunity.
* ``?format=microsoft|aws`` on ``GET /v1/leads`` and ``GET /v1/opportunities/{id}`` — the caller's
  leads / opportunity in that shape.

Every answer carries ``dropped``: what the mapping could not carry (``connectors/interop/dropped``).
A document that does not map is a ``422`` naming the document's fields; nothing is published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast, get_args

import orjson
from aiohttp import web

from connectors.http.auth import require_partner
from connectors.http.errors import ApiError, JsonObject, json_response, read_json
from connectors.http.idempotency import with_idempotency
from connectors.http.state import state_of
from connectors.http.views import OpportunityState, Referral
from connectors.interop.aws import (
    aws_engagement_invitations,
    aws_opportunity_from_lead,
    aws_opportunity_from_opportunity,
    opportunity_from_aws,
)
from connectors.interop.common import MappingError, ReferralStatus
from connectors.interop.dropped import (
    AWS_LEAD_DROPS,
    AWS_OPPORTUNITY_DROPS,
    AWS_READS,
    AWS_TEAM_DROPS,
    MS_LEAD_DROPS,
    MS_OPPORTUNITY_DROPS,
    MS_READS,
    MS_TEAM_DROPS,
    unread_paths,
)
from connectors.interop.microsoft import (
    opportunity_from_referral,
    referral_from_lead,
    referral_from_opportunity,
)
from schemas.opportunity import OpportunityInput

__all__ = ["FORMATS", "add_interop_routes", "leads_in", "opportunity_in", "wanted_format"]

FORMATS = ("microsoft", "aws")
MAX_DOCUMENT_BYTES = 64 * 1024


def wanted_format(request: web.Request) -> str | None:
    """``?format=`` (None: the oppbus shape); anything else than microsoft|aws is a 400."""
    fmt = request.query.get("format")
    if fmt is None or fmt == "oppbus":
        return None
    if fmt not in FORMATS:
        raise ApiError(400, f"format: one of oppbus, {', '.join(FORMATS)}", code="bad_parameter")
    return fmt


def _status(status: str) -> ReferralStatus:
    """The referral status nearest to an oppbus status (anything not yet decided: offered)."""
    for known in get_args(ReferralStatus):
        if status == known:
            return cast(ReferralStatus, known)
    return "offered"


def leads_in(fmt: str, referrals: list[Referral]) -> tuple[list[dict[str, Any]], list[str]]:
    """The caller's leads as Partner Center referrals or AWS opportunities, and what is dropped."""
    docs = []
    for r in referrals:
        revealed = r.customer if r.status in ("accepted", "won", "lost") else None
        size = r.deal_size if revealed is not None else None
        if fmt == "microsoft":
            docs.append(
                referral_from_lead(
                    r.offer, status=_status(r.status), customer=revealed, deal_size=size
                )
            )
        else:
            docs.append(
                aws_opportunity_from_lead(
                    r.offer, status=_status(r.status), customer=revealed, deal_size=size
                )
            )
    return docs, list(MS_LEAD_DROPS if fmt == "microsoft" else AWS_LEAD_DROPS)


def opportunity_in(
    fmt: str,
    state: OpportunityState,
    status: str,
    *,
    team: Mapping[str, Any] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The caller's opportunity in ``fmt`` (its status mapped as close as the shape allows);
    ``team``: a team opportunity's view (``standing.team_view``), ``kinds``: partner kinds."""
    opp = state.opportunity
    assert opp is not None
    if fmt == "microsoft":
        ms_status = _status("declined" if status in ("exhausted", "rejected") else status)
        drops = list(MS_OPPORTUNITY_DROPS) + (list(MS_TEAM_DROPS) if team else [])
        return {
            "format": fmt,
            "referral": referral_from_opportunity(opp, status=ms_status),
            "dropped": drops,
        }
    routing = status if status in ("offered", "accepted", "withdrawn") else "published"
    if status in ("won", "lost"):
        routing = "accepted"
    if status in ("unroutable", "exhausted", "rejected"):
        routing = "unroutable"
    aws_status = status if status in ("accepted", "won", "lost") else "offered"
    doc = aws_opportunity_from_opportunity(opp, status=aws_status, routing=routing)  # type: ignore[arg-type]
    drops = list(AWS_OPPORTUNITY_DROPS)
    if team:  # a multi-partner opportunity: one engagement invitation per role
        doc["EngagementInvitations"] = aws_engagement_invitations(
            opp, list(team["roles"]), kinds or {}
        )
        drops += list(AWS_TEAM_DROPS)
    return {"format": fmt, "opportunity": doc, "dropped": drops}


def _inbound(
    mapper: Callable[[Mapping[str, Any]], OpportunityInput], reads: tuple[str, ...], fmt: str
) -> Callable[[web.Request], Any]:
    async def post(request: web.Request) -> web.Response:
        partner_id = require_partner(request)
        body, raw = await read_json(request, JsonObject, max_bytes=MAX_DOCUMENT_BYTES)
        doc = body.model_extra or {}
        try:
            opportunity = mapper(doc)
        except MappingError as exc:
            raise ApiError(
                422, f"the {fmt} document does not map: {exc.message}", errors=exc.errors
            ) from None
        dropped = unread_paths(doc, reads)
        if fmt == "microsoft" and doc.get("consent", {}).get("consentToContact") is not True:
            dropped.append("customerProfile.team (no consent to contact: contacts not shared)")
        state = state_of(request)

        async def publish() -> web.Response:
            # imported here: routes_opportunities serves ?format= through this module
            from connectors.http.routes_opportunities import publish_opportunity

            response = await publish_opportunity(state, partner_id, opportunity)
            assert isinstance(response.body, bytes)
            answer = {**orjson.loads(response.body), "format": fmt, "dropped": dropped}
            location = {"Location": response.headers["Location"]}
            return json_response(answer, status=response.status, headers=location)

        return await with_idempotency(state.idempotency, request, partner_id, raw, publish)

    return post


def add_interop_routes(app: web.Application) -> None:
    app.router.add_post(
        "/v1/interop/microsoft/referrals",
        _inbound(opportunity_from_referral, MS_READS, "microsoft"),
    )
    app.router.add_post(
        "/v1/interop/aws/opportunities", _inbound(opportunity_from_aws, AWS_READS, "aws")
    )
