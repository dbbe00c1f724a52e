"""Partner API credentials on the compacted ``credentials`` topic (key: partner id).

Only the SHA-256 hash of a key travels here, never the key itself (see connectors/http/keys.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import Contract, PartnerId, UtcDatetime

__all__ = ["Credential", "CredentialStatus"]

CredentialStatus = Literal["active", "revoked"]


class Credential(Contract):
    """What the bus keeps about a partner's API key: its hash, never the key."""

    partner_id: PartnerId
    key_id: str = Field(pattern=r"^[0-9a-f]{12}$")
    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 hex of the key")
    status: CredentialStatus = "active"
    version: int = Field(strict=True, ge=1, description="monotonic per partner; last writer wins")
    updated_at: UtcDatetime
