"""Who really sent a CRM webhook: signature checks, timestamp tolerance and replay rejection.

HubSpot v3 (``X-HubSpot-Signature-v3``, ``X-HubSpot-Request-Timestamp`` in milliseconds): base64 of
HMAC-SHA256, keyed with the app's client secret, over ``method + uri + body + timestamp``; ``uri``
is the full URL HubSpot called, with a few URL-encoded characters decoded (HubSpot's list).
Requests whose timestamp is more than the tolerance (5 minutes) away are refused.

Salesforce has no standard signature for outbound calls from a Flow or Apex, so oppbus defines a
shared-secret one an Apex callout computes with ``Crypto.generateMac('hmacSHA256', ...)``:
``X-Oppbus-Timestamp`` (Unix seconds) and ``X-Oppbus-Signature`` = base64 HMAC-SHA256 over
``timestamp + "." + body``.

Replays are refused by the API's shared replay guard (connectors/http/guards.py), which keeps the
signatures of accepted requests on the log until their timestamp leaves the tolerance window
(after which the timestamp check refuses them anyway): the same signed request twice, to any API
process or after a restart, is a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "HUBSPOT_SIGNATURE",
    "HUBSPOT_TIMESTAMP",
    "SALESFORCE_SIGNATURE",
    "SALESFORCE_TIMESTAMP",
    "SignatureError",
    "hubspot_signature",
    "hubspot_uri",
    "salesforce_signature",
    "verify_hubspot",
    "verify_salesforce",
]

HUBSPOT_SIGNATURE = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP = "X-HubSpot-Request-Timestamp"
SALESFORCE_SIGNATURE = "X-Oppbus-Signature"
SALESFORCE_TIMESTAMP = "X-Oppbus-Timestamp"

# HubSpot: "decode the following URL-encoded characters" before signing the URI.
_HUBSPOT_DECODE = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
    "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


class SignatureError(ValueError):
    """Why a request is not trusted: ``code`` is ``missing``, ``stale`` or ``bad_signature``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_uri(url: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded (either case)."""
    out = url
    for escaped, char in _HUBSPOT_DECODE.items():
        out = out.replace(escaped, char).replace(escaped.lower(), char)
    return out


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.upper().encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    return _b64_hmac(secret, message)


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get(name.lower(), "").strip()
    if not value:
        raise SignatureError("missing", f"missing header {name}")
    return value


def _fresh(timestamp_s: float, now: float, tolerance_s: float) -> None:
    if abs(now - timestamp_s) > tolerance_s:
        raise SignatureError("stale", "the request timestamp is outside the allowed window")


def verify_hubspot(
    secret: str,
    method: str,
    uri: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> tuple[str, float]:
    """Check a HubSpot v3 signature; return ``(signature, timestamp_s)`` or raise."""
    signature = _header(headers, HUBSPOT_SIGNATURE)
    stamp = _header(headers, HUBSPOT_TIMESTAMP)
    if not stamp.isdigit():
        raise SignatureError("stale", f"{HUBSPOT_TIMESTAMP} is not a millisecond timestamp")
    timestamp_s = int(stamp) / 1000.0
    _fresh(timestamp_s, now, tolerance_s)
    expected = hubspot_signature(secret, method, uri, body, stamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("bad_signature", "the HubSpot signature does not match")
    return signature, timestamp_s


def salesforce_signature(secret: str, timestamp: str, body: bytes) -> str:
    return _b64_hmac(secret, timestamp.encode() + b"." + body)


def verify_salesforce(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> tuple[str, float]:
    """Check the oppbus shared-secret signature of a Salesforce callout."""
    signature = _header(headers, SALESFORCE_SIGNATURE)
    stamp = _header(headers, SALESFORCE_TIMESTAMP)
    if not stamp.isdigit():
        raise SignatureError("stale", f"{SALESFORCE_TIMESTAMP} is not a Unix timestamp")
    _fresh(float(stamp), now, tolerance_s)
    expected = salesforce_signature(secret, stamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("bad_signature", "the signature does not match")
    return signature, float(stamp)
