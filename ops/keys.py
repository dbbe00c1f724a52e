"""The bus's own keys on disk and in the environment, and files private to the bus's user.

The service key (``Settings.service_key``, streams/record_auth.py) comes from, in order:
``OPPBUS_SERVICE_KEY``; else the key file ``DATA_DIR/keys/service.key`` (created 0600 in a 0700
directory on first use); else, for ``oppbus up`` in memory mode, a fresh key handed to its worker and
API children in their environment. ``oppbus worker`` and ``oppbus api`` started on their own need
the key from the environment or the data dir: every process of one bus must hold the same key.
See docs/security.md.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from streams.settings import ENV_PREFIX, Settings

__all__ = [
    "SERVICE_KEY_ENV",
    "MissingKey",
    "private_dir",
    "provision_keys",
    "read_or_create_secret",
    "service_key_file",
]

SERVICE_KEY_ENV = ENV_PREFIX + "SERVICE_KEY"


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
    if env.get(SERVICE_KEY_ENV):
        return settings
    if settings.data_dir is not None:
        key = read_or_create_secret(service_key_file(settings.data_dir), secrets.token_hex(32))
        return settings.model_copy(update={"service_key": SecretStr(key)})
    if standalone:
        raise MissingKey(
            f"set {SERVICE_KEY_ENV} (the key every process of this bus shares; `oppbus up` "
            "generates one for its children) or --data/OPPBUS_DATA_DIR holding keys/service.key"
        )
    return settings  # `oppbus up` in memory mode: its fresh key goes to its children
