"""Replay guards shared by every API process, on the compacted ``api-guards`` topic (key: slot).

An ``Idempotency-Key`` or a signed CRM request is a *slot* (a SHA-256: the key itself never travels).
A process that wants to run a request publishes a ``claimed`` record for the slot, waits until its
own read model applied it, and runs the request only if its claim is the one the log kept: the
first live claim in log order, the same answer in every process (connectors/http/guards.py). The
winner then publishes ``done`` (with the response to replay, for an Idempotency-Key) or
``released`` (the request failed: a retry may run).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import Contract, UtcDatetime

__all__ = ["GuardRecord", "GuardResponse"]


class GuardResponse(Contract):
    """The response a retry with the same Idempotency-Key gets again."""

    status: int = Field(strict=True, ge=200, le=299)
    content_type: str = Field(min_length=1, max_length=200)
    body: str = Field(max_length=1_000_000, description="UTF-8 text of the body (sealed)")


class GuardRecord(Contract):
    """One step of a slot: claimed by one process, then done or released."""

    slot: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of guard, scope and key")
    guard: Literal["idempotency", "crm-replay"]
    claim_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    state: Literal["claimed", "done", "released"]
    fingerprint: str = Field(default="", max_length=64, description="sha256 of the request body")
    at: UtcDatetime
    expires_at: UtcDatetime
    response: GuardResponse | None = None
