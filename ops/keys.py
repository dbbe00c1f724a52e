"""The bus's own keys on disk and in the environment, and files private to the bus's user.

Two keys, each from, in order: its environment variable; else its key file under
``DATA_DIR/keys/`` (created 0600 in a 0700 directory on first use); else, for ``oppbus up`` in
memory mode, a fresh key handed to its worker and API children in their environment:

- the service key (``OPPBUS_SERVICE_KEY``, ``keys/service.key``): authenticates the records the
  bus writes (streams/record_auth.py);
- the data keys (``OPPBUS_DATA_KEYS``, ``keys/data.keys``): encrypt customers and secrets on the
  log (schemas/field_crypto.py).

``oppbus worker`` and ``oppbus api`` started on their own, and ``oppbus up`` on an existing Kafka
(which outlives one run), need both from the environment or the data dir: every process of one
bus must hold the same keys. See docs/security.md.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from schemas.field_crypto import new_data_key
from streams.settings import ENV_PREFIX, Settings

__all__ = [
    "DATA_KEYS_ENV",
    "SERVICE_KEY_ENV",
    "MissingKey",
    "child_env",
    "private_dir",
    "provision_keys",
    "read_or_create_secret",
    "service_key_file",
]

SERVICE_KEY_ENV = ENV_PREFIX + "SERVICE_KEY"
DATA_KEYS_ENV = ENV_PREFIX + "DATA_KEYS"


def _new_service_key() -> str:
    return secrets.token_hex(32)


# (Settings field, env var, key file under DATA_DIR/keys, how to make a new one)
_KEYS = (
    ("service_key", SERVICE_KEY_ENV, "service.key", _new_service_key),
    ("data_keys", DATA_KEYS_ENV, "data.keys", new_data_key),
)


class MissingKey(Exception):
    """The process has no service key it could share with the rest of the bus."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the bus's user only: 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def read_or_create_secret(path: Path, make: str) -> str:
    """The secret in ``path``; created 0600 with ``make`` when absent (never overwritten)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise MissingKey(f"the key file {path} is empty") from None
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # readable by others: made private before use
        return text
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(make + "\n")
    return make


def service_key_file(data_dir: Path) -> Path:
    return data_dir / "keys" / "service.key"


def provision_keys(settings: Settings, env: Mapping[str, str], *, standalone: bool) -> Settings:
    """``settings`` with the service key every process of this bus shares.

    ``standalone``: a worker or API process started on its own, which cannot invent a key.
    """
    if settings.data_dir is not None:
        private_dir(settings.data_dir)  # customer data, secrets: the bus's user only
    update: dict[str, SecretStr] = {}
    for field, var, filename, make in _KEYS:
        if env.get(var):
            continue
        if settings.data_dir is not None:
            path = settings.data_dir / "keys" / filename
            update[field] = SecretStr(read_or_create_secret(path, make()))
        elif standalone:
            raise MissingKey(
                f"set {var} (every process of this bus shares it; `oppbus up` generates one for "
                f"its children) or --data/OPPBUS_DATA_DIR holding keys/{filename}"
            )
        # else `oppbus up` in memory mode: its fresh key goes to its children
    return settings.model_copy(update=update) if update else settings


def child_env(settings: Settings) -> dict[str, str]:
    """The keys of this bus for a child process's environment (``oppbus up``)."""
    return {var: getattr(settings, field).get_secret_value() for field, var, _f, _m in _KEYS}
