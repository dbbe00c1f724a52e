"""Backward compatibility: the frozen v1 samples still decode; no current schema breaks v1."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from ops.schemas_command import breaking
from schemas.codec import decode, decode_data, encode
from schemas.compatibility import FROZEN_DIR, breaking_changes, frozen_schema
from schemas.documents import json_schema
from schemas.events import EVENT_TYPES

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
