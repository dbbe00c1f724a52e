"""Every constraint the API enforces, stated in its OpenAPI document.

The component schemas come from the pydantic contracts, which describe the events on the log and
stay as released; what the API enforces beyond them (``schemas.input_rules``) and what its path,
query and header parameters must look like is added here:

- each free-text string of a request body (and of the models it shares with responses) gets the
  input rules' pattern (no control, escape or bidi characters; tab and newline in long text);
- ``industry``/``industries`` get the vocabulary (``schemas/industries.py``) as an ``enum``, a
  capability the taxonomy's codes (``schemas/taxonomy.py``, with any a deployment added);
- ``expected_close`` says its window (relative to today, so not expressible as a bound);
- path parameters get their id patterns, ``status`` its enum, ``Idempotency-Key`` its length and
  characters, ``Prefer`` its ``wait=N`` form.
"""

from __future__ import annotations

from typing import Any

from schemas.common import OpportunityId, PartnerId
from schemas.ids import REFERRAL_ID_PATTERN
from schemas.industries import INDUSTRY_CODES
from schemas.input_rules import (
    CLOSE_DAYS_AFTER,
    CLOSE_DAYS_BEFORE,
    LONG_TEXT_FIELDS,
    LONG_TEXT_PATTERN,
    TEXT_PATTERN,
)
from schemas.taxonomy import known_capabilities

__all__ = ["IDEMPOTENCY_KEY_PATTERN", "PARAMETERS", "constrain_bodies"]

IDEMPOTENCY_KEY_PATTERN = r"^[!-~][ -~]{0,253}[!-~]$|^[!-~]$"


def _pattern_of(annotated: Any) -> str:
    for meta in getattr(annotated, "__metadata__", ()):
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            return pattern
    raise ValueError(f"no pattern on {annotated!r}")


# name -> the JSON Schema of that path, query or header parameter
PARAMETERS: dict[str, dict[str, Any]] = {
    "partner_id": {"type": "string", "pattern": _pattern_of(PartnerId)},
    "opportunity_id": {"type": "string", "pattern": _pattern_of(OpportunityId)},
    "referral_id": {"type": "string", "pattern": REFERRAL_ID_PATTERN},
    "status": {
        "type": "string",
        "enum": ["offered", "accepted", "declined", "expired", "won", "lost", "withdrawn"],
    },
    "Idempotency-Key": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    "Prefer": {"type": "string", "pattern": r"^wait=([0-9]|[12][0-9]|30)$"},
}
_UNTOUCHED = frozenset({"ErrorBody", "FieldErrorBody"})
_REF_PREFIX = "#/components/schemas/"


def _is_capability(node: dict[str, Any]) -> bool:
    return "capability taxonomy" in str(node.get("description", ""))


def _constrain(name: str, node: dict[str, Any]) -> None:
    """Add the input rules to the schema ``node`` of property ``name`` (in place)."""
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key, ()):
            _constrain(name, branch)
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        _constrain(name, node["items"])
    if node.get("type") != "string" or "enum" in node or "format" in node:
        return
    if name in ("industry", "industries"):
        node["enum"] = list(INDUSTRY_CODES)
        node.pop("minLength", None)
        node.pop("maxLength", None)
    elif _is_capability(node):
        node["enum"] = sorted(known_capabilities())
    elif "pattern" not in node:
        node["pattern"] = LONG_TEXT_PATTERN if name in LONG_TEXT_FIELDS else TEXT_PATTERN


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(_REF_PREFIX)} if "$ref" in node else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def constrain_bodies(schemas: dict[str, Any], bodies: set[str]) -> None:
    """Apply the input rules to ``bodies`` and every component they refer to (in place)."""
    todo, seen = list(bodies), set()
    while todo:
        name = todo.pop()
        if name in seen or name in _UNTOUCHED or name not in schemas:
            continue
        seen.add(name)
        schema = schemas[name]
        for prop, node in schema.get("properties", {}).items():
            _constrain(prop, node)
            if prop == "expected_close":
                node["description"] = (
                    f"ISO 8601 date, from {CLOSE_DAYS_BEFORE} days before today (UTC) to "
                    f"{CLOSE_DAYS_AFTER} days after"
                )
        todo.extend(_refs(schema))
