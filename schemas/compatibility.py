"""Which contract changes break readers: a checker over two JSON Schemas of one event type.

The rule (``schemas/COMPATIBILITY.md``): within a major version (``.v1`` of ``ce_type``) the current
models must accept every event the frozen version accepted. So, comparing the frozen JSON Schema
(``schemas/frozen/v1/jsonschema``) with the current one, these are breaking: a property removed
(the models reject unknown fields), a property newly required, a type narrowed, enum values removed,
a ``const`` or ``pattern`` or ``format`` changed, a bound tightened, a ``$ref`` pointing elsewhere, an
``anyOf`` branch removed, an ``enum`` added where there was none. Widening anything, adding
optional properties, and editing descriptions, titles, examples or defaults are not.

One reviewed exception (COMPATIBILITY.md, "Corrections"): regions and currencies were documented as
ISO codes but only shape-checked in the first v1 release; the shape pattern replaced by the code
list (``CORRECTIONS``) is not reported. Any other pattern change or added enum still is. The code
lists themselves may only grow within a version: ``removed_codes`` compares them with the frozen
ones (``frozen/v1/codes/iso.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from schemas.common import REGION_PATTERN
from schemas.iso_codes import COUNTRY_CODES, CURRENCY_CODES

__all__ = ["CORRECTIONS", "FROZEN_DIR", "breaking_changes", "frozen_schema", "removed_codes"]

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


# Reviewed v1 corrections: (the first release's shape pattern, what now enforces the code list).
CORRECTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    (r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", {"pattern": REGION_PATTERN}),  # ISO 3166-1 country (+ 3166-2)
    (r"^[A-Z]{3}$", {"enum": list(CURRENCY_CODES)}),  # ISO 4217 currency
)


def _corrected(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` as if the reviewed correction that ``new`` shows had been in it from the start."""
    if "patternProperties" in old and len(old["patternProperties"]) == 1 and "propertyNames" in new:
        # pydantic renders ``dict[K, V]`` with a patterned K as patternProperties, with an enum K as
        # propertyNames + additionalProperties; the model always checked every key against K.
        ((pattern, value),) = old["patternProperties"].items()
        rest = {k: v for k, v in old.items() if k != "patternProperties"}
        old = {**rest, "propertyNames": {"pattern": pattern}, "additionalProperties": value}
    for shape, enforced in CORRECTIONS:
        if old.get("pattern") == shape and all(new.get(k) == v for k, v in enforced.items()):
            rest = {k: v for k, v in old.items() if k != "pattern"}
            return {**rest, **enforced}
    return old


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
    old = _corrected(old, new)
    old_types, new_types = _types(old), _types(new)
    if old_types and not old_types <= (new_types or old_types):
        out.append(f"{path}: type narrowed from {sorted(old_types)} to {sorted(new_types)}")
    if "enum" in old and not set(map(repr, old["enum"])) <= set(map(repr, new.get("enum", []))):
        if "enum" in new or "const" in new:
            out.append(f"{path}: enum values removed")
    if "enum" in new and "enum" not in old and "const" not in old:
        out.append(f"{path}: enum added (narrows what was accepted)")
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


def removed_codes(
    version: str = "v1",
    countries: tuple[str, ...] = COUNTRY_CODES,
    currencies: tuple[str, ...] = CURRENCY_CODES,
) -> list[str]:
    """Codes the frozen version accepted that the current code lists no longer hold."""
    path = FROZEN_DIR / version / "codes" / "iso.json"
    if not path.is_file():
        return []
    frozen = orjson.loads(path.read_bytes())
    gone = [f"ISO 3166-1 country {c}: removed" for c in frozen["countries"] if c not in countries]
    return gone + [
        f"ISO 4217 currency {c}: removed" for c in frozen["currencies"] if c not in currencies
    ]
