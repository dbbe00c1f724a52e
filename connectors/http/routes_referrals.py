"""A partner's responses to a referral it holds: accept, decline, report the outcome.

``POST /v1/referrals/{referral_id}/accept`` · ``/decline`` ``{reason, note?}`` ·
``/outcome`` ``{status: won|lost, amount?, currency?, reason?, note?}``.

Only the partner holding the referral may act on it: for anyone else it does not exist (``404``).
The API checks the transition against the ledger it has read (:func:`check_transition`): an
illegal one is a ``409`` and publishes nothing; repeating the step already taken is a ``200`` that
publishes nothing. A legal one is published as a command on the ``responses`` topic (keyed by the
opportunity) and answered ``202`` once acknowledged: the router decides, and the ledger (the lead
and its stream) shows the result. With ``Prefer: wait=N`` (seconds, at most 30) the API waits for
that result and answers ``200`` with the updated lead (after an accept: with the customer).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from connectors.http.auth import require_partner
from connectors.http.errors import ApiError, json_response, read_json
from connectors.http.idempotency import with_idempotency
from connectors.http.state import ApiState, state_of, utcnow
from connectors.http.views import Referral
from schemas.common import Contract, Currency, DecimalString, Money
from schemas.errors import FieldError
from schemas.ids import opportunity_key
from schemas.referrals import (
    AcceptReferral,
    DeclineReason,
    DeclineReferral,
    LostReason,
    ReportOutcome,
)

__all__ = [
    "AcceptInput",
    "DeclineInput",
    "OutcomeInput",
    "add_referral_routes",
    "check_transition",
]

Action = Literal["accept", "decline", "won", "lost"]
_TARGET: dict[str, str] = {
    "accept": "accepted",
    "decline": "declined",
    "won": "won",
    "lost": "lost",
}
_ALLOWED_FROM: dict[str, str] = {
    "accept": "offered",
    "decline": "offered",
    "won": "accepted",
    "lost": "accepted",
}
_MAX_WAIT_S = 30.0
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+(?:\.\d+)?)")


class AcceptInput(Contract):
    """Body of ``/accept``: may be empty (``{}``)."""

    note: str | None = Field(default=None, max_length=500)


class DeclineInput(Contract):
    """Body of ``/decline``: a reason code (Partner Center's list, plus ``other``) and a note."""

    reason: DeclineReason
    note: str | None = Field(default=None, max_length=500)


class OutcomeInput(Contract):
    """Body of ``/outcome``: ``won`` with ``amount`` + ``currency``, or ``lost`` with ``reason``."""

    status: Literal["won", "lost"]
    amount: DecimalString | None = None
    currency: Currency | None = None
    reason: LostReason | None = None
    note: str | None = Field(default=None, max_length=500)

    def problems(self) -> list[FieldError]:
        """The rules across fields, each naming the field to fix."""
        errs: list[FieldError] = []

        def bad(name: str, message: str) -> None:
            errs.append(FieldError(field=name, message=message, type="value_error"))

        if self.status == "won":
            if self.amount is None:
                bad("amount", "status won needs the amount won")
            if self.currency is None:
                bad("currency", "status won needs the currency of the amount")
            if self.reason is not None:
                bad("reason", "a reason is only given for status lost")
        else:
            if self.reason is None:
                bad("reason", "status lost needs a reason")
            if self.amount is not None:
                bad("amount", "an amount is only given for status won")
            if self.currency is not None:
                bad("currency", "a currency is only given for status won")
        return errs


def check_transition(referral: Referral, action: str, *, now: datetime) -> bool:
    """True if ``action`` moves the referral on; False if it already happened (a no-op).

    Raises a ``409`` for an illegal transition (e.g. accepting a declined or expired offer).
    """
    status = referral.status
    if status == _TARGET[action]:
        return False
    allowed = _ALLOWED_FROM[action]
    if status != allowed:
        raise ApiError(
            409,
            f"cannot {action} a referral that is {status} (only when {allowed})",
            code="illegal_transition",
        )
    if status == "offered" and referral.offer.expires_at <= now:
        raise ApiError(409, "the offer has expired", code="illegal_transition")
    return True


def _prefer_wait(request: web.Request) -> float:
    match = _PREFER_WAIT.search(request.headers.get("Prefer", ""))
    return min(float(match.group(1)), _MAX_WAIT_S) if match else 0.0


def _held(request: web.Request, partner_id: str) -> Referral:
    referral_id = request.match_info["referral_id"]
    referral = state_of(request).views.referral_of(partner_id, referral_id)
    if referral is None:
        raise ApiError(404, f"no referral {referral_id} of yours")
    return referral


def _command(referral: Referral, action: str, body: BaseModel) -> Contract:
    o = referral.offer
    about: dict[str, Any] = {
        "referral_id": o.referral_id,
        "opportunity_id": o.opportunity_id,
        "originator": o.originator,
        "partner_id": o.partner_id,
        "requested_at": utcnow(),
    }
    if action == "accept":
        return AcceptReferral(**about)
    if isinstance(body, DeclineInput):
        return DeclineReferral(**about, reason=body.reason, note=body.note)
    assert isinstance(body, OutcomeInput)
    amount = (
        Money(amount=Decimal(body.amount), currency=body.currency)
        if body.amount is not None and body.currency is not None
        else None
    )
    return ReportOutcome(
        **about, status=body.status, amount=amount, reason=body.reason, note=body.note
    )


async def _respond(request: web.Request, model: type[BaseModel], verb: str) -> web.Response:
    partner_id = require_partner(request)
    referral = _held(request, partner_id)
    body, raw = await read_json(
        request, model, max_bytes=8 * 1024, allow_empty=model is AcceptInput
    )
    action = verb
    if isinstance(body, OutcomeInput):
        problems = body.problems()
        if problems:
            raise ApiError(422, "invalid OutcomeInput", errors=problems)
        action = body.status
    state = state_of(request)
    wait_s = _prefer_wait(request)

    async def publish() -> web.Response:
        if check_transition(referral, action, now=utcnow()):
            command = _command(referral, action, body)
            key = opportunity_key(referral.offer.originator, referral.offer.opportunity_id)
            await state.publisher.publish("responses", key, command)
            if wait_s > 0 and await _settled(state, referral, _TARGET[action], wait_s):
                return json_response(referral.as_lead())
            return json_response(
                {
                    "referral_id": referral.referral_id,
                    "requested": action,
                    "status": referral.status,
                    "lead": f"/v1/leads/{referral.referral_id}",
                },
                status=202,
            )
        return json_response(referral.as_lead())

    return await with_idempotency(state.idempotency, request, partner_id, raw, publish)


async def _settled(state: ApiState, referral: Referral, target: str, wait_s: float) -> bool:
    """Wait until the ledger moved the referral on (to ``target`` or anything else)."""
    start = referral.status

    def moved() -> bool:
        revealed = target != "accepted" or referral.customer is not None
        return referral.status != start and (referral.status != target or revealed)

    try:
        async with asyncio.timeout(wait_s):
            await state.readmodel.wait_until(moved)
    except TimeoutError:
        return False
    return True


async def accept(request: web.Request) -> web.Response:
    return await _respond(request, AcceptInput, "accept")


async def decline(request: web.Request) -> web.Response:
    return await _respond(request, DeclineInput, "decline")


async def outcome(request: web.Request) -> web.Response:
    return await _respond(request, OutcomeInput, "outcome")


def add_referral_routes(app: web.Application) -> None:
    app.router.add_post("/v1/referrals/{referral_id}/accept", accept)
    app.router.add_post("/v1/referrals/{referral_id}/decline", decline)
    app.router.add_post("/v1/referrals/{referral_id}/outcome", outcome)
