"""Backward compatibility: the frozen v1 samples still decode; no current schema breaks v1."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from ops.schemas_command import breaking
from schemas.codec import decode, decode_data, encode
from schemas.common import REGION_PATTERN
from schemas.compatibility import FROZEN_DIR, breaking_changes, frozen_schema, removed_codes
from schemas.documents import json_schema
from schemas.events import EVENT_TYPES
from schemas.iso_codes import COUNTRY_CODES, CURRENCY_CODES

V1_SAMPLES = sorted((FROZEN_DIR / "v1" / "examples").glob("*.json"))


def test_every_v1_type_has_frozen_samples_and_schema() -> None:
    types = {orjson.loads(p.read_bytes())["type"] for p in V1_SAMPLES}
    assert types == {t for t in EVENT_TYPES if t.endswith(".v1")}
    assert len(V1_SAMPLES) >= 2 * len(types) - 1  # full + minimal (outcome's minimal = full)
    for ce_type in types:
        assert frozen_schema("v1", ce_type.removeprefix("io.oppbus.")) is not None


@pytest.mark.parametrize("path", V1_SAMPLES, ids=lambda p: p.stem)
def test_v1_sample_still_decodes(path: Any) -> None:
    raw = orjson.loads(path.read_bytes())
    event = decode_data(raw["type"], raw["data"])
    enc = encode(event, source=raw["source"], id=raw["id"])
    assert decode(enc.value, enc.headers).event == event


def test_no_current_schema_breaks_v1() -> None:
    assert breaking() == []


OPP = "io.oppbus.opportunity.published.v1"


def _current() -> dict[str, Any]:
    return copy.deepcopy(json_schema(OPP))


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda s: s["properties"].pop("industry"), "$.industry: removed"),
        (lambda s: s["required"].append("title"), "$.title: newly required"),
        (lambda s: s["properties"]["industry"].update(maxLength=10), "$.industry: maxLength"),
        (lambda s: s["properties"]["industry"].update(type="integer"), "$.industry: type narrowed"),
        (lambda s: s["$defs"]["Money"]["properties"]["currency"].update(pattern="^USD$"),
         "$defs.Money.currency: pattern changed"),
        (lambda s: s["$defs"].pop("Contact"), "$defs.Contact: removed"),
    ],
)  # fmt: skip
def test_checker_flags_breaking_changes(change: Any, expected: str) -> None:
    new = _current()
    change(new)
    found = breaking_changes(_current(), new)
    assert any(f.startswith(expected) for f in found), found


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["properties"].update(priority={"type": "integer", "default": 0}),
        lambda s: s["properties"]["industry"].update(maxLength=500, description="wider"),
        lambda s: s["properties"]["industry"].update(minLength=0),
    ],
)
def test_checker_accepts_compatible_changes(change: Any) -> None:
    new = _current()
    change(new)
    assert breaking_changes(_current(), new) == []


def test_checker_compares_anyof_branches_by_what_they_accept() -> None:
    old = {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]}
    described = {
        "anyOf": [{"type": "string", "maxLength": 5, "description": "x"}, {"type": "null"}]
    }
    assert breaking_changes(old, described) == []
    narrowed = {"anyOf": [{"type": "string", "maxLength": 4}, {"type": "null"}]}
    assert breaking_changes(old, narrowed) == ["$: anyOf branch removed or narrowed"]
    assert breaking_changes(old, {"anyOf": [{"type": "null"}]}) != []


def test_checker_flags_removed_enum_values() -> None:
    old = {"type": "object", "properties": {"r": {"enum": ["a", "b"]}}}
    new = {"type": "object", "properties": {"r": {"enum": ["a"]}}}
    assert breaking_changes(old, new) == ["$.r: enum values removed"]
    assert breaking_changes(new, old) == []


def test_checker_flags_an_added_enum() -> None:
    old = {"type": "object", "properties": {"r": {"type": "string", "maxLength": 5}}}
    new = {"type": "object", "properties": {"r": {"type": "string", "enum": ["a"]}}}
    assert breaking_changes(old, new) == ["$.r: enum added (narrows what was accepted)"]


REGION_SHAPE = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"
CURRENCY_SHAPE = r"^[A-Z]{3}$"


def test_only_the_reviewed_iso_corrections_are_accepted() -> None:
    region = {"type": "string", "pattern": REGION_SHAPE}
    currency = {"type": "string", "pattern": CURRENCY_SHAPE}
    assert breaking_changes(region, {"type": "string", "pattern": REGION_PATTERN}) == []
    assert breaking_changes(currency, {"type": "string", "enum": list(CURRENCY_CODES)}) == []
    # anything else still breaks: another pattern, a shorter list, a corrected node narrowed more
    other = REGION_PATTERN.replace("U[AGMSYZ]", "U[AGMYZ]")
    assert breaking_changes(region, {"type": "string", "pattern": other})
    assert breaking_changes(currency, {"type": "string", "enum": ["EUR", "USD"]})
    narrower = {"type": "string", "pattern": REGION_PATTERN, "maxLength": 2}
    assert breaking_changes(region, narrower) == ["$: maxLength tightened to 2"]
    assert breaking_changes({"type": "string", "pattern": "^[a-z]+$"}, currency)


def test_a_currency_keyed_map_moved_to_the_code_list_is_accepted_only_as_wide() -> None:
    value = {"type": "string", "pattern": "^[0-9]+$"}
    old = {"type": "object", "patternProperties": {CURRENCY_SHAPE: value}}
    new = {
        "type": "object",
        "propertyNames": {"enum": list(CURRENCY_CODES)},
        "additionalProperties": value,
    }
    assert breaking_changes(old, new) == []
    tighter = {**new, "additionalProperties": {**value, "maxLength": 3}}
    assert breaking_changes(old, tighter) == ["$[additionalProperties]: maxLength tightened to 3"]


def test_code_lists_only_grow_within_v1() -> None:
    assert removed_codes("v1") == []
    fewer = tuple(c for c in COUNTRY_CODES if c != "DE")
    assert removed_codes("v1", countries=fewer) == ["ISO 3166-1 country DE: removed"]
    assert removed_codes("v1", currencies=CURRENCY_CODES[1:]) == [
        f"ISO 4217 currency {CURRENCY_CODES[0]}: removed"
    ]
