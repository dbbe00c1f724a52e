"""Standard Webhooks signatures (https://www.standardwebhooks.com/), both sides.

The sender signs ``"<webhook-id>.<webhook-timestamp>.<body>"`` with HMAC-SHA256; the key is the
base64 part of the ``whsec_…`` secret. Headers: ``webhook-id`` (stable per message: receivers dedupe
on it), ``webhook-timestamp`` (Unix seconds), ``webhook-signature`` (space-separated ``v1,<base64>``
entries, so a secret can be rotated with two signatures). A receiver rejects a timestamp more than
five minutes from its clock and compares signatures in constant time. :func:`verify` is what a
partner's receiver (and our tests) run; :func:`signed_headers` is what the dispatcher sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

__all__ = [
    "SECRET_PREFIX",
    "TOLERANCE_S",
    "WebhookVerificationError",
    "generate_secret",
    "sign",
    "signed_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """The message is not authentic, or too old / too new to be trusted."""


def generate_secret(nbytes: int = 32) -> str:
    """A fresh ``whsec_`` secret: ``nbytes`` random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        raise ValueError("the secret after whsec_ is not base64") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``msg_id.timestamp.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per secret (rotation: old + new)."""
    signatures = " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> str:
    """Check a received message; return its ``webhook-id`` or raise :class:`WebhookVerificationError`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    if abs(now - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise WebhookVerificationError("no matching v1 signature")
