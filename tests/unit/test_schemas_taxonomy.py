"""The capability taxonomy is documented and extensible by configuration (OPPBUS_EXTRA_CAPABILITIES)."""

from __future__ import annotations

import argparse
import uuid

import pytest
from pydantic import ValidationError

from ops.cli import UserError, _settings
from schemas.common import Money
from schemas.opportunity import OpportunityInput
from schemas.taxonomy import CAPABILITIES, known_capabilities, parse_capabilities
from streams.settings import load_settings


def _opportunity(need: str) -> dict[str, object]:
    return {
        "needs": [need],
        "region": "US",
        "industry": "retail",
        "deal_size": Money.model_validate({"amount": "10.00", "currency": "USD"}),
        "expected_close": "2027-01-01",
        "customer": {"company": "Acme", "domain": "acme.com"},
    }


def test_every_built_in_capability_is_documented() -> None:
    assert "storage" in CAPABILITIES and "networking" in CAPABILITIES
    assert all(text.strip() for text in CAPABILITIES.values())
    assert set(CAPABILITIES) <= known_capabilities()


def test_parse_rejects_codes_that_could_never_validate() -> None:
    assert parse_capabilities(" Quantum-Computing, ,edge-ai ") == ["quantum-computing", "edge-ai"]
    with pytest.raises(ValueError, match="bad code"):
        parse_capabilities("bad code")


def test_settings_carry_extra_capabilities_from_env() -> None:
    settings = load_settings({}, env={"OPPBUS_EXTRA_CAPABILITIES": "Edge-AI,robotics"})
    assert settings.extra_capabilities == "edge-ai,robotics"
    with pytest.raises(ValidationError):
        load_settings({}, env={"OPPBUS_EXTRA_CAPABILITIES": "not a code"})


def test_the_cli_registers_extra_capabilities(monkeypatch: pytest.MonkeyPatch) -> None:
    code = f"cap-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ValidationError):
        OpportunityInput.model_validate(_opportunity(code))
    monkeypatch.setenv("OPPBUS_EXTRA_CAPABILITIES", code)
    _settings(argparse.Namespace(command="worker"))
    assert code in known_capabilities()
    assert OpportunityInput.model_validate(_opportunity(code)).needs == (code,)
    monkeypatch.setenv("OPPBUS_EXTRA_CAPABILITIES", "Not A Code")
    with pytest.raises(UserError, match="extra_capabilities"):
        _settings(argparse.Namespace(command="worker"))
