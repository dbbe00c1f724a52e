"""Per-partner CRM configuration: one file per partner in ``Settings.crm_dir``.

``<partner_id>.toml`` (or ``.json`` with the same structure)::

    [hubspot]
    client_secret = "the HubSpot app's client secret"
    [hubspot.mapping]                      # oppbus field = CRM payload path or rule
    opportunity_id = { path = "objectId", prefix = "hs-" }
    needs = { path = "properties.oppbus_needs", split = ";" }
    "deal_size.amount" = "properties.amount"

    [salesforce]
    shared_secret = "the secret the Apex callout signs with"
    [salesforce.mapping]
    ...

The file is read when it changed (mtime), so an operator edits a mapping without a restart. Only a
well-formed partner id ever becomes a file name (no path traversal).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import SecretStr

from connectors.crm.mapping import FieldRule, parse_mapping

__all__ = ["CrmConfigError", "CrmConfigs", "PartnerCrm", "Provider", "ProviderConfig"]

Provider = Literal["hubspot", "salesforce"]
_SECRET_KEY: dict[str, str] = {"hubspot": "client_secret", "salesforce": "shared_secret"}
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class CrmConfigError(ValueError):
    """A partner's CRM file exists but is malformed (an operator error: logged, request 503)."""


@dataclass(frozen=True)
class ProviderConfig:
    secret: SecretStr
    mapping: dict[str, FieldRule]


@dataclass(frozen=True)
class PartnerCrm:
    partner_id: str
    providers: dict[str, ProviderConfig]


def _parse(partner_id: str, raw: dict[str, Any]) -> PartnerCrm:
    providers: dict[str, ProviderConfig] = {}
    for provider, secret_key in _SECRET_KEY.items():
        section = raw.get(provider)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise CrmConfigError(f"[{provider}] must be a table")
        secret = section.get(secret_key)
        if not isinstance(secret, str) or len(secret) < 16:
            raise CrmConfigError(f"[{provider}] {secret_key} must be a string of 16+ characters")
        mapping = section.get("mapping")
        if not isinstance(mapping, dict) or not mapping:
            raise CrmConfigError(f"[{provider}.mapping] is required")
        try:
            providers[provider] = ProviderConfig(SecretStr(secret), parse_mapping(mapping))
        except ValueError as exc:
            raise CrmConfigError(f"[{provider}.mapping] {exc}") from None
    return PartnerCrm(partner_id, providers)


class CrmConfigs:
    """The CRM files of one directory, cached per file modification time."""

    def __init__(self, directory: Path | None) -> None:
        self._dir = directory
        self._cache: dict[str, tuple[float, PartnerCrm]] = {}

    def _file(self, partner_id: str) -> Path | None:
        if self._dir is None or not _PARTNER_ID.match(partner_id):
            return None
        for suffix in (".toml", ".json"):
            path = self._dir / f"{partner_id}{suffix}"
            if path.is_file():
                return path
        return None

    def provider(self, partner_id: str, provider: Provider) -> ProviderConfig | None:
        """The partner's configuration for ``provider``; None when it has none."""
        path = self._file(partner_id)
        if path is None:
            return None
        mtime = path.stat().st_mtime
        cached = self._cache.get(partner_id)
        if cached is None or cached[0] != mtime:
            try:
                data = path.read_bytes()
                raw = tomllib.loads(data.decode()) if path.suffix == ".toml" else orjson.loads(data)
            except (tomllib.TOMLDecodeError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CrmConfigError(f"{path.name}: {exc}") from None
            if not isinstance(raw, dict):
                raise CrmConfigError(f"{path.name}: not a table")
            cached = (mtime, _parse(partner_id, raw))
            self._cache[partner_id] = cached
        return cached[1].providers.get(provider)
