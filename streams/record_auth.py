"""Records that grant rights are authenticated by the bus: an HMAC with the service key.

Anyone who can reach the broker can produce a record. The bus does not believe a record because it
is well formed: every record its own processes write carries an ``oppbus-mac`` header, an
HMAC-SHA256 with the service key (``Settings.service_key``, held only by the bus's processes) over
the full topic name, the record key, the value and every other header in order. A consumer of a
topic in :data:`AUTHENTICATED_TOPICS` checks it before parsing the value; a record without a valid
MAC is refused (``InvalidEvent("unauthenticated")``): dead-lettered with that reason by the router
and the gatekeeper, never applied by a view (partner directory, API keys, webhook registry).

The header value is ``<key id>.<base64 tag>``; the key id (the first 8 hex digits of the key's
SHA-256) names which key of the ring signed, so a new key can be added before the old one is
retired (docs/security.md, "Rotating the service key").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence

from schemas.codec import Encoded, encode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from streams.settings import Settings

__all__ = ["AUTHENTICATED_TOPICS", "MAC_HEADER", "RecordAuth", "RecordHeaders"]

MAC_HEADER = "oppbus-mac"

# Logical topics whose records grant rights or carry a partner's word: a forged one is refused.
AUTHENTICATED_TOPICS = frozenset(
    (
        *("partners", "credentials", "webhooks", "opportunities", "responses", "referrals"),
        *("api-guards", "routing-policy", "partnerships", "fees"),
        *("webhook-deliveries", "webhook-redrives"),
    )
)

_DOMAIN = b"oppbus-record-mac/v1"

RecordHeaders = Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _fields(out: list[bytes], data: bytes | None) -> None:
    """Append one length-prefixed field (None and empty differ) to the MAC input ``out``."""
    if data is None:
        out.append(b"\x00")
    else:
        out.append(b"\x01" + len(data).to_bytes(8, "big"))
        out.append(data)


def _pairs(headers: RecordHeaders) -> list[tuple[str, bytes | None]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(n), None if v is None else bytes(v)) for n, v in items]


class RecordAuth:
    """Stamps and checks the ``oppbus-mac`` header with a ring of service keys."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(not k for k in keys):
            raise ValueError("the service key ring needs at least one non-empty key")
        self._signing = (_key_id(keys[0]), keys[0])
        self._ring = {_key_id(k): k for k in keys}

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordAuth:
        text = settings.service_key.get_secret_value()
        return cls([part.strip().encode() for part in text.split(",") if part.strip()])

    def _tag(self, secret: bytes, topic: str, key: bytes | None, value: bytes | None,
             headers: list[tuple[str, bytes | None]]) -> bytes:  # fmt: skip
        parts = [_DOMAIN]
        for part in (topic.encode(), key, value):
            _fields(parts, part)
        parts.append(len(headers).to_bytes(4, "big"))
        for name, raw in headers:
            _fields(parts, name.encode())
            _fields(parts, raw)
        return hmac.digest(secret, b"".join(parts), "sha256")  # one-shot: OpenSSL's fast path

    def stamp(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RecordHeaders
    ) -> list[tuple[str, bytes]]:
        """``headers`` plus the MAC header for a record to ``topic`` (the full topic name)."""
        clean = [(n, v) for n, v in _pairs(headers) if n != MAC_HEADER]
        kid, secret = self._signing
        tag = base64.b64encode(self._tag(secret, topic, key, value, clean))
        return [*((n, v or b"") for n, v in clean), (MAC_HEADER, kid.encode() + b"." + tag)]

    def encode(self, topic: str, key: bytes | None, event: Contract, *, source: str) -> Encoded:
        """``schemas.codec.encode`` plus the MAC: a record as the bus writes it to ``topic``."""
        enc = encode(event, source=source)
        return Encoded(enc.value, self.stamp(topic, key, enc.value, enc.headers))

    def check(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RecordHeaders
    ) -> None:
        """Raise ``InvalidEvent("unauthenticated")`` unless the bus wrote this record as it is."""
        pairs = _pairs(headers)
        macs = [v for n, v in pairs if n == MAC_HEADER]
        if not macs:
            raise InvalidEvent("unauthenticated", f"no {MAC_HEADER} header: not written by the bus")
        if len(macs) > 1 or macs[0] is None:
            raise InvalidEvent("unauthenticated", f"one {MAC_HEADER} header expected")
        kid, _, tag = macs[0].partition(b".")
        secret = self._ring.get(kid.decode("ascii", "replace"))
        if secret is None:
            raise InvalidEvent("unauthenticated", "signed with a key the bus does not hold")
        clean = [(n, v) for n, v in pairs if n != MAC_HEADER]
        expected = base64.b64encode(self._tag(secret, topic, key, value, clean))
        if not hmac.compare_digest(expected, tag):
            raise InvalidEvent(
                "unauthenticated", "bad MAC: forged or altered after the bus wrote it"
            )
