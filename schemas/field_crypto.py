"""Client-side field-level encryption of the private fields of bus events (AES-256-GCM).

In the manner of Confluent's client-side field-level encryption: the producer encrypts the
fields a rule names (here :data:`PRIVATE_FIELDS`, per event type) before the record leaves the
process, and a consumer holding the key decrypts them after reading; everything else in the
record stays in clear so that routing, keys, partitioning and schema checks keep working. What is
encrypted: the customer of an opportunity and of a revealed lead (company, domain, contacts), the
domain of a conflict notice, a webhook signing secret and the original bytes of a dead letter.

An encrypted field is the string ``encv1:<key id>:<base64(nonce | ciphertext+tag)>`` of the
field's JSON value; the associated data binds it to its event type and field path, so a
ciphertext cannot be moved to another field or event. The key id names the data key of the ring
that encrypted it: the first key of the ring encrypts, every key decrypts, which is how a key is
rotated (docs/security.md). :func:`blind_index` is a keyed hash (HMAC-SHA256) for equality
look-ups on an encrypted value, e.g. conflict detection on the normalised customer domain.

The ring is process state installed once by the entrypoint (:func:`install_data_keys`, like the
taxonomy's ``register_capabilities``); installing another ring adds its keys and makes its first
key the one that encrypts. Without an installed ring nothing is encrypted and an encrypted field
cannot be read (``InvalidEvent("encrypted")``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.errors import InvalidEvent

__all__ = [
    "MARKER",
    "PRIVATE_FIELDS",
    "blind_index",
    "decrypt_fields",
    "encrypt_fields",
    "fresh_keyring",
    "has_encrypted",
    "install_data_keys",
    "keys_installed",
    "new_data_key",
    "open_secret",
    "parse_data_keys",
    "seal_secret",
]

MARKER = "encv1:"
_MARKER_BYTES = MARKER.encode()
_CUSTOMER = ("customer.company", "customer.domain", "customer.contacts")
# ce_type -> dotted paths of the fields encrypted on the log
PRIVATE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "io.oppbus.opportunity.published.v1": _CUSTOMER,
    "io.oppbus.lead.revealed.v1": _CUSTOMER,
    "io.oppbus.opportunity.conflict-flagged.v1": ("domain",),
    "io.oppbus.webhook.subscribed.v1": ("secret",),
    "io.oppbus.deadletter.recorded.v1": ("value",),
    "io.oppbus.api.guard.v1": ("response.body",),
}


class _Ring:
    def __init__(self) -> None:
        self.keys: dict[str, AESGCM] = {}
        self.current: str | None = None
        self.index_key: bytes | None = None


_RING = _Ring()


@contextmanager
def fresh_keyring() -> Iterator[None]:
    """Run with no data keys installed, then give the process its ring back (tests, tools)."""
    global _RING
    saved, _RING = _RING, _Ring()
    try:
        yield
    finally:
        _RING = saved


def keys_installed() -> bool:
    return _RING.current is not None


def new_data_key() -> str:
    """A fresh ring entry ``<key id>:<base64 of 32 random bytes>``."""
    return f"k{secrets.token_hex(4)}:{base64.b64encode(os.urandom(32)).decode()}"


def parse_data_keys(text: str) -> list[tuple[str, bytes]]:
    """``kid:base64key[,kid:base64key...]`` -> [(kid, 32-byte key)], first one encrypts."""
    ring = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError:
            key = b""
        if not sep or not kid.isalnum() or len(key) != 32:
            raise ValueError("data keys must be kid:base64(32 bytes), comma-separated")
        ring.append((kid, key))
    if not ring:
        raise ValueError("at least one data key is needed")
    return ring


def install_data_keys(text: str) -> None:
    """Add the ring ``text`` to the process's keys; its first key encrypts from now on."""
    ring = parse_data_keys(text)
    for kid, key in ring:
        _RING.keys[kid] = AESGCM(key)
    _RING.current = ring[0][0]
    # the blind index follows the oldest key of the ring: adding a key does not move it
    _RING.index_key = hmac.new(ring[-1][1], b"oppbus-blind-index/v1", hashlib.sha256).digest()


def blind_index(text: str) -> str:
    """A keyed hash of ``text`` (hex): equal for equal inputs, nothing about them without the key."""
    if _RING.index_key is None:
        return text  # no keys (pure unit tests): the look-up still works, in clear
    return hmac.new(_RING.index_key, text.encode(), hashlib.sha256).hexdigest()[:32]


def _aad(ce_type: str, path: str) -> bytes:
    return f"{ce_type}|{path}".encode()


def _walk(data: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
    *parents, leaf = path.split(".")
    node: Any = data
    for name in parents:
        node = node.get(name) if isinstance(node, dict) else None
    if isinstance(node, dict) and leaf in node:
        return node, leaf
    return None


def encrypt_fields(
    ce_type: str, data: dict[str, Any], *, paths: tuple[str, ...] | None = None
) -> None:
    """Encrypt, in place, the private fields of ``data`` (a dumped event) when a ring is installed."""
    paths = PRIVATE_FIELDS.get(ce_type) if paths is None else paths
    if not paths or _RING.current is None:
        return
    cipher, kid = _RING.keys[_RING.current], _RING.current
    for path in paths:
        found = _walk(data, path)
        if found is None or found[0][found[1]] is None:
            continue
        node, leaf = found
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, orjson.dumps(node[leaf]), _aad(ce_type, path))
        node[leaf] = f"{MARKER}{kid}:{base64.b64encode(nonce + sealed).decode()}"


def seal_secret(text: str, purpose: str) -> str:
    """``text`` sealed for a config file (e.g. a CRM secret, ``purpose="crm.hubspot"``)."""
    data = {"secret": text}
    encrypt_fields(f"secret|{purpose}", data, paths=("secret",))
    if data["secret"] == text:
        raise ValueError("no data keys installed")
    return str(data["secret"])


def open_secret(text: str, purpose: str) -> str:
    """The clear text of a sealed secret (returned unchanged if it is not sealed)."""
    data = {"secret": text}
    decrypt_fields(f"secret|{purpose}", data, paths=("secret",))
    return str(data["secret"])


def has_encrypted(value: bytes) -> bool:
    """Cheap test on raw JSON: may it hold an encrypted field?"""
    return _MARKER_BYTES in value


def decrypt_fields(
    ce_type: str, data: dict[str, Any], *, paths: tuple[str, ...] | None = None
) -> None:
    """Decrypt, in place, every encrypted private field of ``data``; InvalidEvent if one cannot be."""
    for path in PRIVATE_FIELDS.get(ce_type, ()) if paths is None else paths:
        found = _walk(data, path)
        if found is None:
            continue
        node, leaf = found
        text = node[leaf]
        if not (isinstance(text, str) and text.startswith(MARKER)):
            continue
        kid, _, b64 = text[len(MARKER) :].partition(":")
        cipher = _RING.keys.get(kid)
        if cipher is None:
            raise InvalidEvent(
                "encrypted", f"{path}: encrypted with data key {kid[:16]!r}, not held"
            )
        try:
            raw = base64.b64decode(b64, validate=True)
            node[leaf] = orjson.loads(cipher.decrypt(raw[:12], raw[12:], _aad(ce_type, path)))
        except (ValueError, InvalidTag, orjson.JSONDecodeError):
            raise InvalidEvent("encrypted", f"{path}: does not decrypt") from None
