"""Declarative CRM field mapping: a file, not code, says where each oppbus field comes from.

A mapping is a table from an oppbus field path (``"deal_size.amount"``, ``"customer.contacts.0.email"``
— integer parts build lists) to a *rule*:

* a string: the dotted path of the value in the CRM payload (``"properties.amount"``);
* a table with ``path`` (or ``value`` for a constant) and optionally ``default`` (when the path is
  missing or empty), ``map`` (translate values, e.g. ``{"United States" = "US"}``), ``split``
  (a separator: ``"storage;backup"`` -> a list), ``lower``/``upper`` (true), ``prefix`` (prepended
  to the value, e.g. ``"hs-"`` for an id), and ``as``: ``"date"`` (ISO date, date-time, or
  epoch milliseconds as HubSpot sends them), ``"int"`` or ``"str"``.

:func:`apply_mapping` builds the body of an :class:`~schemas.opportunity.OpportunityInput`; the
caller validates it exactly as the HTTP API validates ``POST /v1/opportunities``. A rule that
cannot be applied raises :class:`MappingRuleError` naming the oppbus field and the CRM path.

Per-partner files in ``Settings.crm_dir`` (:class:`CrmConfigs`): ``<partner_id>.toml`` (or ``.json``
with the same structure) holds, per provider, the secret and the mapping::

    [hubspot]
    client_secret = "the HubSpot app's client secret"
    [hubspot.mapping]
    opportunity_id = { path = "objectId", prefix = "hs-" }
    [salesforce]
    shared_secret = "the secret the Apex callout signs with"
    [salesforce.mapping]
    ...

A secret may be sealed with the bus's data keys (``oppbus seal-secret --purpose crm.hubspot``
prints ``encv1:...``; docs/security.md), so the file holds no secret in clear.

A file is re-read when it changed (mtime): a mapping is edited without a restart. Only a well-formed
partner id ever becomes a file name (no path traversal).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from schemas.errors import InvalidEvent
from schemas.field_crypto import MARKER, open_secret

__all__ = [
    "CrmConfigError",
    "CrmConfigs",
    "FieldRule",
    "MappingRuleError",
    "PartnerCrm",
    "Provider",
    "ProviderConfig",
    "apply_mapping",
    "parse_mapping",
    "pluck",
]

_MISSING = object()


class MappingRuleError(ValueError):
    def __init__(self, target: str, message: str) -> None:
        super().__init__(f"{target}: {message}")
        self.target = target
        self.message = message


class FieldRule(BaseModel):
    """One rule of a mapping file (the string form is ``FieldRule(path=...)``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    path: str | None = Field(default=None, min_length=1, max_length=300)
    value: Any = None
    default: Any = None
    map: dict[str, Any] | None = None
    split: str | None = Field(default=None, min_length=1, max_length=5)
    lower: bool = False
    upper: bool = False
    prefix: str | None = Field(default=None, max_length=40)
    as_: str | None = Field(default=None, alias="as", pattern=r"^(date|int|str)$")

    @model_validator(mode="after")
    def _path_or_value(self) -> FieldRule:
        if (self.path is None) == (self.value is None):
            raise ValueError("give exactly one of path or value")
        return self


def parse_mapping(raw: Mapping[str, Any]) -> dict[str, FieldRule]:
    """Validate a mapping table from a config file; ValueError naming the bad target."""
    rules: dict[str, FieldRule] = {}
    for target, rule in raw.items():
        try:
            rules[target] = FieldRule(path=rule) if isinstance(rule, str) else FieldRule(**rule)
        except (ValidationError, TypeError) as exc:
            raise ValueError(f"mapping rule for {target!r} is invalid: {exc}") from None
    return rules


def pluck(payload: Any, path: str) -> Any:
    """The value at a dotted path (list indices allowed), or a private MISSING marker."""
    node = payload
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _as_date(value: Any, target: str) -> str:
    text = str(value).strip()
    try:
        if text.isdigit():  # HubSpot date properties: epoch milliseconds
            return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date().isoformat()
    except (ValueError, OverflowError, OSError):
        raise MappingRuleError(target, f"not a date: {text[:40]!r}") from None


def _convert(rule: FieldRule, value: Any, target: str) -> Any:
    if rule.split is not None and isinstance(value, str):
        value = [v.strip() for v in value.split(rule.split) if v.strip()]
    if isinstance(value, list):
        return [_convert_one(rule, v, target) for v in value]
    return _convert_one(rule, value, target)


def _convert_one(rule: FieldRule, value: Any, target: str) -> Any:
    if rule.map is not None and isinstance(value, str | int) and str(value) in rule.map:
        value = rule.map[str(value)]
    if isinstance(value, str):
        value = value.lower() if rule.lower else value.upper() if rule.upper else value
    if rule.as_ == "date":
        return _as_date(value, target)
    if rule.as_ == "int":
        try:
            return int(str(value).strip())
        except ValueError:
            raise MappingRuleError(target, f"not an integer: {str(value)[:40]!r}") from None
    if rule.as_ == "str" or rule.prefix:
        value = str(value)
    return f"{rule.prefix}{value}" if rule.prefix else value


def _place(body: dict[str, Any], target: str, value: Any) -> None:
    parts = target.split(".")
    node: Any = body
    for part, nxt in pairwise(parts):
        key: Any = int(part) if part.isdigit() else part
        child: Any = [] if nxt.isdigit() else {}
        if isinstance(node, list):
            while len(node) <= key:
                node.append(None)
            if node[key] is None:
                node[key] = child
            node = node[key]
        else:
            node = node.setdefault(key, child)
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[last] = value


def apply_mapping(rules: Mapping[str, FieldRule], payload: Any) -> dict[str, Any]:
    """The oppbus opportunity body the ``rules`` make of a CRM ``payload`` (not yet validated)."""
    body: dict[str, Any] = {}
    for target, rule in rules.items():
        value = rule.value if rule.path is None else pluck(payload, rule.path)
        if value is _MISSING or value is None or value == "":
            if rule.default is None:
                continue
            value = rule.default
        _place(body, target, _convert(rule, value, target))
    _drop_holes(body)
    return body


def _drop_holes(node: Any) -> None:
    """Lists with gaps (contact 0 unmapped, contact 1 mapped) are compacted."""
    if isinstance(node, dict):
        for key, child in node.items():
            if isinstance(child, list):
                node[key] = [c for c in child if c is not None]
            _drop_holes(node[key])
    elif isinstance(node, list):
        for child in node:
            _drop_holes(child)


Provider = Literal["hubspot", "salesforce"]
_SECRET_KEY: dict[str, str] = {"hubspot": "client_secret", "salesforce": "shared_secret"}
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_SECRET_CHARS = 16


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
        if isinstance(secret, str) and secret.startswith(MARKER):  # sealed: `oppbus seal-secret`
            try:
                secret = open_secret(secret, f"crm.{provider}")
            except InvalidEvent as exc:
                raise CrmConfigError(f"[{provider}] {secret_key}: {exc.detail}") from None
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_CHARS:
            raise CrmConfigError(
                f"[{provider}] {secret_key} must be a string of at least {MIN_SECRET_CHARS}"
                " characters: it is the key that authenticates the CRM's signed requests, and a"
                " shorter one can be guessed"
            )
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
            try:
                cached = (mtime, _parse(partner_id, raw))
            except CrmConfigError as exc:
                raise CrmConfigError(f"{path.name}: {exc}") from None
            self._cache[partner_id] = cached
        return cached[1].providers.get(provider)
