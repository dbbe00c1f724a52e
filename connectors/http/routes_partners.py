"""Partner routes: register/update a profile, read it, rotate and revoke its API key, scorecard.

* ``PUT /v1/partners/{partner_id}`` — the operator registers a partner (``201``, the body carries the
  partner's ``api_key``, shown this once) or the operator / the partner itself updates the profile
  (``200``). The profile goes to the compacted ``partners`` topic with ``version`` = previous + 1; an
  update that changes nothing publishes nothing.
* ``PATCH /v1/partners/{partner_id}`` — a partial change (JSON merge patch, RFC 7396) by the
  operator or the partner itself; validated and published as a whole new version, like ``PUT``.
* ``GET /v1/partners/{partner_id}`` — the profile (operator or the partner itself).
* ``POST /v1/partners/{partner_id}/api-key`` — rotate: a new key, the old one stops working.
* ``DELETE /v1/partners/{partner_id}/api-key`` — revoke: no key works until the next rotation.
* ``GET /v1/partners/{partner_id}/scorecard`` — the partner's aggregates (operator or itself).

Every write waits until the read model has applied it, so the new key works on the next request.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from connectors.http.auth import authenticate, require_admin_or_partner
from connectors.http.errors import ApiError, JsonObject, json_response, read_json, validate
from connectors.http.keys import issue_key, revoked
from connectors.http.publisher import Published
from connectors.http.state import state_of, utcnow
from schemas.common import PartnerId
from schemas.errors import FieldError, field_errors
from schemas.partner import Certification, PartnerProfile, PartnerProfileInput
from schemas.scorecard import empty_scorecard

__all__ = [
    "add_partner_routes",
    "keep_operator_fields",
    "merge_patch",
    "partner_id_param",
    "profile_body",
]

_PARTNER_ID: TypeAdapter[str] = TypeAdapter(PartnerId)


def partner_id_param(request: web.Request) -> str:
    """The ``{partner_id}`` path segment, validated (422 naming ``partner_id``)."""
    raw = request.match_info["partner_id"]
    try:
        return _PARTNER_ID.validate_python(raw)
    except ValidationError as exc:
        errors = [
            type(e)(field="partner_id", message=e.message, type=e.type) for e in field_errors(exc)
        ]
        raise ApiError(422, "invalid partner id", errors=errors) from None


def profile_body(profile: PartnerProfile) -> dict[str, Any]:
    return profile.model_dump(mode="json")


async def put_partner(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    principal = authenticate(request)
    state = state_of(request)
    if partner_id not in state.views.profiles and not principal.is_admin:
        raise ApiError(403, "only the operator registers partners")
    require_admin_or_partner(request, partner_id)
    body, _ = await read_json(request, PartnerProfileInput)
    return await _write_profile(request, partner_id, body)


async def patch_partner(request: web.Request) -> web.Response:
    """``PATCH``: a JSON merge patch (RFC 7396) of the profile — the fields sent replace theirs,
    ``null`` restores a field's default; the result is validated as a whole profile."""
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    patch, _ = await read_json(request, JsonObject)
    state = state_of(request)
    current = state.views.profiles.get(partner_id)
    if current is None:
        raise ApiError(404, f"no partner {partner_id}")
    fields = current.model_dump(mode="json", include=set(PartnerProfileInput.model_fields))
    merged = merge_patch(fields, patch.model_extra or {})
    return await _write_profile(request, partner_id, validate(PartnerProfileInput, merged))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: apply a JSON merge ``patch`` to ``target`` (neither is modified)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge_patch(out.get(name), value)
    return out


async def _write_profile(
    request: web.Request, partner_id: str, body: PartnerProfileInput
) -> web.Response:
    """Publish ``body`` as the partner's next profile version (nothing when it changes nothing);
    the operator's first write also issues the partner's API key."""
    principal = authenticate(request)
    state = state_of(request)
    async with state.lock(f"partner:{partner_id}"):
        current = state.views.profiles.get(partner_id)
        fields = keep_operator_fields(current, body.model_dump(), is_admin=principal.is_admin)
        if current is not None and current.active and _same(current, fields):
            return json_response(profile_body(current))
        now = utcnow()
        profile = PartnerProfile.model_validate(
            {
                **fields,
                "partner_id": partner_id,
                "version": (current.version + 1) if current is not None else 1,
                "updated_at": now,
                "active": True,
            }
        )
        writes: list[Published] = []
        api_key: str | None = None
        if principal.is_admin and state.views.keys.get(partner_id) is None:
            issued = issue_key(partner_id, previous_version=0, now=now)
            writes.append(
                await state.publisher.publish("credentials", partner_id, issued.credential)
            )
            api_key = issued.key
        writes.append(await state.publisher.publish("partners", partner_id, profile))
        await state.visible(*writes)
    out = profile_body(profile)
    if api_key is not None:
        out["api_key"] = api_key
    return json_response(
        out,
        status=201 if current is None else 200,
        headers={"Location": f"/v1/partners/{partner_id}"},
    )


def keep_operator_fields(
    current: PartnerProfile | None, fields: dict[str, Any], *, is_admin: bool
) -> dict[str, Any]:
    """A profile update's fields with what only the operator sets carried over from ``current``.

    A certification re-sent unchanged keeps its status; one the caller marks ``verified`` that
    is not verified now is refused unless the caller is the operator.
    """
    previous = current.certifications if current is not None else ()
    certs: list[dict[str, Any]] = []
    for i, raw in enumerate(fields.get("certifications", ())):
        cert = Certification.model_validate(raw)
        kept = any(c.status == "verified" and c.same_claim(cert) for c in previous)
        if cert.status == "verified" and not kept and not is_admin:
            raise ApiError(
                403,
                "only the operator verifies certifications",
                errors=[
                    FieldError(
                        field=f"certifications.{i}.status",
                        message="a partner states certifications as claimed",
                        type="forbidden",
                    )
                ],
            )
        certs.append({**raw, "status": "verified" if kept else cert.status})
    out = {**fields, "certifications": tuple(certs)}
    if current is not None:
        out["capacity_cap"] = current.capacity_cap
    return out


def _same(current: PartnerProfile, fields: dict[str, Any]) -> bool:
    mine = current.model_dump(exclude={"partner_id", "version", "updated_at", "active"})
    theirs = {**fields, "certifications": tuple(map(dict, fields["certifications"]))}
    return bool(mine == theirs)


async def get_partner(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    profile = state_of(request).views.profiles.get(partner_id)
    if profile is None:
        raise ApiError(404, f"no partner {partner_id}")
    return json_response(profile_body(profile))


async def rotate_key(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    state = state_of(request)
    async with state.lock(f"partner:{partner_id}"):
        current = state.views.keys.get(partner_id)
        if current is None and partner_id not in state.views.profiles:
            raise ApiError(404, f"no partner {partner_id}")
        issued = issue_key(
            partner_id, previous_version=current.version if current else 0, now=utcnow()
        )
        await state.visible(
            await state.publisher.publish("credentials", partner_id, issued.credential)
        )
    return json_response(
        {"partner_id": partner_id, "key_id": issued.credential.key_id, "api_key": issued.key},
        status=201,
    )


async def revoke_key(request: web.Request) -> web.Response:
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    state = state_of(request)
    async with state.lock(f"partner:{partner_id}"):
        current = state.views.keys.get(partner_id)
        if current is None:
            raise ApiError(404, f"partner {partner_id} has no API key")
        if current.status == "active":
            record = revoked(current, now=utcnow())
            await state.visible(await state.publisher.publish("credentials", partner_id, record))
    return web.Response(status=204)


async def get_scorecard(request: web.Request) -> web.Response:
    """The partner's scorecard from the partner-stats topic (all zeros before its first referral)."""
    partner_id = partner_id_param(request)
    require_admin_or_partner(request, partner_id)
    views = state_of(request).views
    if partner_id not in views.profiles:
        raise ApiError(404, f"no partner {partner_id}")
    card = views.stats.get(partner_id) or empty_scorecard(partner_id)
    return json_response(card)


def add_partner_routes(app: web.Application) -> None:
    app.router.add_put("/v1/partners/{partner_id}", put_partner)
    app.router.add_patch("/v1/partners/{partner_id}", patch_partner)
    app.router.add_get("/v1/partners/{partner_id}", get_partner)
    app.router.add_post("/v1/partners/{partner_id}/api-key", rotate_key)
    app.router.add_delete("/v1/partners/{partner_id}/api-key", revoke_key)
    app.router.add_get("/v1/partners/{partner_id}/scorecard", get_scorecard)
