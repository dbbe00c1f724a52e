"""Partner API keys: issued once, stored only as a SHA-256 hash, rotatable and revocable.

A key is ``opb_<key_id>_<secret>`` with 256 bits of randomness in the secret, so a plain SHA-256
of the whole key is a safe verifier (no salt or slow hash is needed for high-entropy secrets). The
key itself is returned to the caller exactly once and never stored, published or logged; the
``key_id`` (public, in the key) lets operators tell keys apart in logs.

The hash records travel on the compacted ``credentials`` topic (key: partner id). The
:class:`KeyRing` is the pure view built from them: last writer wins by ``version``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from schemas.credentials import Credential

__all__ = [
    "KEY_PREFIX",
    "Credential",
    "IssuedKey",
    "KeyRing",
    "hash_key",
    "issue_key",
    "revoked",
]

KEY_PREFIX = "opb_"
_SECRET_BYTES = 32


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key: ``key`` goes to the caller once, ``credential`` to the topic."""

    key: str
    credential: Credential


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_key(partner_id: str, *, previous_version: int, now: datetime) -> IssuedKey:
    """A new key for ``partner_id``; its credential supersedes ``previous_version``."""
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    credential = Credential(
        partner_id=partner_id,
        key_id=key_id,
        key_hash=hash_key(key),
        version=previous_version + 1,
        updated_at=now,
    )
    return IssuedKey(key=key, credential=credential)


def revoked(credential: Credential, *, now: datetime) -> Credential:
    """The record that revokes ``credential`` (the hash is kept so the old key stays refused)."""
    return credential.model_copy(
        update={"status": "revoked", "version": credential.version + 1, "updated_at": now}
    )


class KeyRing:
    """The current credential of every partner, and key verification against the hashes."""

    def __init__(self) -> None:
        self._by_partner: dict[str, Credential] = {}
        self._by_hash: dict[str, str] = {}

    def apply(self, credential: Credential) -> bool:
        """Take a record from the topic; stale versions are ignored. True if it changed state."""
        current = self._by_partner.get(credential.partner_id)
        if current is not None and (current.version, current.updated_at) >= (
            credential.version,
            credential.updated_at,
        ):
            return False
        if current is not None:
            self._by_hash.pop(current.key_hash, None)
        self._by_partner[credential.partner_id] = credential
        if credential.status == "active":
            self._by_hash[credential.key_hash] = credential.partner_id
        return True

    def get(self, partner_id: str) -> Credential | None:
        return self._by_partner.get(partner_id)

    def verify(self, presented: str) -> str | None:
        """The partner id whose active key this is, else None."""
        if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
            return None
        digest = hash_key(presented)
        partner_id = self._by_hash.get(digest)
        if partner_id is None:
            return None
        credential = self._by_partner[partner_id]
        if credential.status != "active" or not hmac.compare_digest(credential.key_hash, digest):
            return None
        return partner_id

    def __len__(self) -> int:
        return len(self._by_partner)
