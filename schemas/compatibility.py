"""Which contract changes break readers: a checker over two JSON Schemas of one event type.

The rule (``schemas/COMPATIBILITY.md``): within a major version (``.v1`` of ``ce_type``) the current
models must accept every event the frozen version accepted. So, comparing the frozen JSON Schema
(``schemas/frozen/v1/jsonschema``) with the current one, these are breaking: a property removed
(the models reject unknown fields), a property newly required, a type narrowed, enum values removed,
a ``const`` or ``pattern`` or ``format`` changed, a bound tightened, a ``$ref`` pointing elsewhere, an
``anyOf`` branch removed. Widening anything, adding optional properties, and editing descriptions,
titles, examples or defaults are not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

__all__ = ["FROZEN_DIR", "breaking_changes", "frozen_schema"]

FROZEN_DIR = Path(__file__).resolve().parent / "frozen"

_UPPER = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")
_LOWER = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_EXACT = ("const", "pattern", "format", "$ref", "multipleOf")
_IGNORED = {"description", "title", "examples", "default", "$schema", "$id"}


def frozen_schema(version: str, name: str) -> dict[str, Any] | None:
    """The frozen JSON Schema ``name`` (e.g. ``opportunity.published.v1``) of a version, if any."""
    path = FROZEN_DIR / version / "jsonschema" / f"{name}.json"
    if not path.is_file():
        return None
    loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    return loaded


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else set(t)


def _compare(old: Any, new: Any, path: str, out: list[str]) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new:
            out.append(f"{path}: changed")
        return
    old_types, new_types = _types(old), _types(new)
    if old_types and not old_types <= (new_types or old_types):
        out.append(f"{path}: type narrowed from {sorted(old_types)} to {sorted(new_types)}")
    if "enum" in old and not set(map(repr, old["enum"])) <= set(map(repr, new.get("enum", []))):
        if "enum" in new or "const" in new:
            out.append(f"{path}: enum values removed")
    for key in _EXACT:
        if key in new and old.get(key) != new.get(key):
            out.append(f"{path}: {key} changed from {old.get(key)!r} to {new[key]!r}")
    for key in _UPPER:
        if key in new and (key not in old or new[key] < old[key]):
            out.append(f"{path}: {key} tightened to {new[key]!r}")
    for key in _LOWER:
        if key in new and (key not in old or new[key] > old[key]):
            out.append(f"{path}: {key} tightened to {new[key]!r}")
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False:
        out.append(f"{path}: additional properties now forbidden")
    newly_required = set(new.get("required", ())) - set(old.get("required", ()))
    for name in sorted(newly_required):
        out.append(f"{path}.{name}: newly required")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, sub in old_props.items():
        if name not in new_props:
            out.append(f"{path}.{name}: removed")
        else:
            _compare(sub, new_props[name], f"{path}.{name}", out)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            _compare(old[key], new[key], f"{path}[{key}]", out)
    for key in ("prefixItems", "anyOf", "oneOf", "allOf"):
        old_list, new_list = old.get(key, []), new.get(key, [])
        if key in ("prefixItems", "allOf") and len(old_list) == len(new_list):
            for i, (a, b) in enumerate(zip(old_list, new_list, strict=True)):
                _compare(a, b, f"{path}[{key}.{i}]", out)
        elif not all(_covered(branch, new_list) for branch in old_list):
            out.append(f"{path}: {key} branch removed or narrowed")
    unknown = set(new) - set(old) - _IGNORED - {"properties", "required", "type", "enum"}
    for key in sorted(unknown - set(_UPPER) - set(_LOWER) - set(_EXACT)):
        out.append(f"{path}: new keyword {key!r} (review: may reject old events)")


def _covered(branch: Any, candidates: list[Any]) -> bool:
    """Some new branch accepts everything the old branch accepted."""
    for candidate in candidates:
        found: list[str] = []
        _compare(branch, candidate, "", found)
        if not found:
            return True
    return False


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every way ``new`` may reject an event ``old`` accepted (empty: backward compatible)."""
    out: list[str] = []
    _compare(old, new, "$", out)
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, sub in old_defs.items():
        if name in new_defs:
            _compare(sub, new_defs[name], f"$defs.{name}", out)
        else:
            out.append(f"$defs.{name}: removed")
    return out
