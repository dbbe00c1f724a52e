"""Who is calling: the operator (admin bearer token) or one partner (its API key).

``Authorization: Bearer <token>``. The admin token is compared in constant time; a partner key is
checked against the SHA-256 hashes of the read model (:class:`connectors.http.keys.KeyRing`).
Missing or unknown credentials are a ``401`` with ``WWW-Authenticate: Bearer``; a known caller
asking for something that is not theirs gets ``403`` (or ``404`` where even existence is private).
No key or token is ever logged.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from connectors.http.errors import ApiError
from connectors.http.state import state_of

__all__ = [
    "Principal",
    "authenticate",
    "principal_name",
    "require_admin",
    "require_admin_or_partner",
    "require_partner",
]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="oppbus"'}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: ``partner_id`` is None for the operator."""

    partner_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.partner_id is None

    @property
    def name(self) -> str:
        return "admin" if self.partner_id is None else f"partner:{self.partner_id}"


ADMIN = Principal(None)
PRINCIPAL = web.RequestKey("oppbus_principal", Principal)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(401, "missing bearer token", code="unauthorized", headers=_CHALLENGE)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, "use Authorization: Bearer <token>", code="unauthorized", headers=_CHALLENGE
        )
    return token


def authenticate(request: web.Request) -> Principal:
    """The caller, or a ``401``."""
    cached = request.get(PRINCIPAL)
    if isinstance(cached, Principal):
        return cached
    token = _bearer(request)
    state = state_of(request)
    admin = state.settings.admin_token
    if admin is not None and hmac.compare_digest(
        token.encode("utf-8"), admin.get_secret_value().encode("utf-8")
    ):
        principal = ADMIN
    else:
        partner_id = state.views.keys.verify(token)
        if partner_id is None:
            raise ApiError(401, "invalid or revoked token", code="unauthorized", headers=_CHALLENGE)
        principal = Principal(partner_id)
    request[PRINCIPAL] = principal
    return principal


def principal_name(request: web.Request) -> str | None:
    """The caller's name (``admin``, ``partner:<id>``) if its credentials are valid, else None.

    For the load shedder: rate buckets and stream caps follow the principal, not the header."""
    try:
        return authenticate(request).name
    except ApiError:
        return None


def require_admin(request: web.Request) -> Principal:
    principal = authenticate(request)
    if not principal.is_admin:
        raise ApiError(403, "this needs the admin token")
    return principal


def require_partner(request: web.Request) -> str:
    """The calling partner's id; the operator gets ``403`` (it acts as no partner)."""
    principal = authenticate(request)
    if principal.partner_id is None:
        raise ApiError(403, "this needs a partner API key, not the admin token")
    return principal.partner_id


def require_admin_or_partner(request: web.Request, partner_id: str) -> Principal:
    """The operator, or ``partner_id`` itself; any other partner gets ``403``."""
    principal = authenticate(request)
    if not principal.is_admin and principal.partner_id != partner_id:
        raise ApiError(403, "a partner may only act on itself")
    return principal
