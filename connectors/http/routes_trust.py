"""The operator's trust in partner profiles (admin token only).

* ``POST /v1/admin/partners/{partner_id}/certifications/verify`` — body ``{"vendor",
  "capability", "status"}``: marks the partner's certifications of that vendor (any case) for that
  capability ``verified`` (or back to ``claimed``). Only verified certifications satisfy an
  opportunity's ``requires_certification`` and count in the ranking.
* ``PUT /v1/admin/partners/{partner_id}/capacity-cap`` — body ``{"capacity_cap": n | null}``:
  routing uses the smaller of the partner's capacity and this cap; ``null`` lifts it.

Both publish the next version of the profile on the ``partners`` topic and answer it. A partner's
own profile update keeps what the operator set (``routes_partners.keep_operator_fields``): the cap, and the verified
status of every certification it re-sends unchanged; a partner that sends ``verified`` for a
certification the operator has not verified gets ``403`` naming the field.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from connectors.http.auth import require_admin
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.routes_partners import partner_id_param
from connectors.http.state import state_of, utcnow
from schemas.common import Capability, Contract
from schemas.errors import FieldError
from schemas.partner import CertificationStatus, PartnerProfile

__all__ = [
    "CapacityCapInput",
    "VerifyCertificationInput",
    "add_trust_routes",
]


class VerifyCertificationInput(Contract):
    """Which certifications of a partner the operator verified (or withdraws)."""

    vendor: str = Field(min_length=1, max_length=80)
    capability: Capability
    status: CertificationStatus = "verified"


class CapacityCapInput(Contract):
    """The operator's cap on a partner's capacity; ``null`` lifts it."""

    capacity_cap: int | None = Field(strict=True, ge=0, le=100_000)


async def _publish(request: web.Request, partner_id: str, update: dict[str, Any]) -> web.Response:
    state = state_of(request)
    async with state.lock(f"partner:{partner_id}"):
        current = state.views.profiles.get(partner_id)
        if current is None:
            raise ApiError(404, f"no partner {partner_id}")
        changed = current.model_copy(update=update)
        if changed == current:
            return json_response(current.model_dump(mode="json"))
        profile = PartnerProfile.model_validate(
            {
                **changed.model_dump(),
                "version": current.version + 1,
                "updated_at": utcnow(),
            }
        )
        await state.visible(await state.publisher.publish("partners", partner_id, profile))
    return json_response(profile.model_dump(mode="json"))


async def verify_certification(request: web.Request) -> web.Response:
    require_admin(request)
    partner_id = partner_id_param(request)
    body, _ = await read_json(request, VerifyCertificationInput)
    current = state_of(request).views.profiles.get(partner_id)
    if current is None:
        raise ApiError(404, f"no partner {partner_id}")
    vendor = body.vendor.lower()
    matching = [
        c.vendor.lower() == vendor and c.capability == body.capability
        for c in current.certifications
    ]
    if not any(matching):
        raise ApiError(
            422,
            "the partner states no such certification",
            errors=[
                FieldError(
                    field="vendor",
                    message=f"no {body.vendor} certification for {body.capability}",
                    type="not_found",
                )
            ],
        )
    certs = tuple(
        c.model_copy(update={"status": body.status}) if hit else c
        for c, hit in zip(current.certifications, matching, strict=True)
    )
    return await _publish(request, partner_id, {"certifications": certs})


async def put_capacity_cap(request: web.Request) -> web.Response:
    require_admin(request)
    partner_id = partner_id_param(request)
    body, _ = await read_json(request, CapacityCapInput)
    return await _publish(request, partner_id, {"capacity_cap": body.capacity_cap})


def add_trust_routes(app: web.Application) -> None:
    app.router.add_post(
        "/v1/admin/partners/{partner_id}/certifications/verify", verify_certification
    )
    app.router.add_put("/v1/admin/partners/{partner_id}/capacity-cap", put_capacity_cap)
