"""Input rules: hostile characters, industry codes and the expected_close window (issue 17)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.industries import INDUSTRIES, industry_code, industry_name
from schemas.input_rules import (
    LONG_TEXT_PATTERN,
    TEXT_PATTERN,
    close_window,
    input_errors,
)
from schemas.opportunity import OpportunityInput


class _Feedback(BaseModel):
    note: str
    reason: str


TODAY = date(2026, 12, 4)


def _opportunity(**over: Any) -> OpportunityInput:
    body: dict[str, Any] = {
        "needs": ["storage"],
        "region": "US",
        "industry": "healthcare",
        "deal_size": {"amount": "1000.00", "currency": "USD"},
        "expected_close": "2027-03-31",
        "customer": {"company": "Acme", "domain": "acme.example", "contacts": [{"name": "Dana"}]},
    }
    body.update(over)
    return OpportunityInput.model_validate(body)


def _fields(model: Any) -> list[tuple[str, str]]:
    return [(e.field, e.type) for e in input_errors(model, TODAY)]


def test_a_clean_opportunity_passes() -> None:
    assert _fields(_opportunity()) == []


@pytest.mark.parametrize(
    "hostile",
    [
        "Acme\x00Corp",  # NUL
        "Acme\x1b[31mCorp",  # ANSI colour escape
        "Acme\x9b31mCorp",  # C1 CSI
        "Acme\x07",  # BEL
        "Ac\rme",  # carriage return
        "Acme\u202eproC",  # right-to-left override
        "Acme\u2066x\u2069",  # isolates
        "Acme\u200fCorp",  # right-to-left mark
        "Ac\x7fme",  # DEL
    ],
)
def test_control_escape_and_bidi_characters_are_refused_naming_the_field(hostile: str) -> None:
    opp = _opportunity(customer={"company": hostile, "domain": "acme.example"}, title=hostile)
    assert ("customer.company", "forbidden_character") in _fields(opp)
    assert ("title", "forbidden_character") in _fields(opp)


def test_tab_and_newline_only_in_long_text() -> None:
    assert _fields(_Feedback(note="line one\n\tline two", reason="a\tb")) == []
    assert _fields(_Feedback(note="a\rb", reason="ok")) == [("note", "forbidden_character")]
    assert ("title", "forbidden_character") in _fields(_opportunity(title="a\tb"))
    assert ("title", "forbidden_character") in _fields(_opportunity(title="a\nb"))


def test_industry_comes_from_the_vocabulary() -> None:
    assert _fields(_opportunity(industry="<script>alert(1)</script>")) == [
        ("industry", "unknown_industry")
    ]
    assert _fields(_opportunity(industry="Acme Health Inc")) == [("industry", "unknown_industry")]
    assert all(_fields(_opportunity(industry=code)) == [] for code in INDUSTRIES)
    assert industry_code("Financial Services") == "financial-services"
    assert industry_code("Real Estate & Construction") == "real-estate-and-construction"
    assert industry_code("Widgets") == "other"
    assert industry_code("Energy - Oil and Gas") == "energy-oil-and-gas"  # AWS's spelling
    assert all(industry_code(industry_name(code)) == code for code in INDUSTRIES)


@pytest.mark.parametrize(
    ("close", "ok"),
    [
        ("0001-01-01", False),
        ("9999-12-31", False),
        ("2025-12-01", False),
        ("2025-12-04", True),
        ("2036-12-01", True),
        ("2037-01-01", False),
    ],
)
def test_expected_close_within_a_year_back_and_ten_ahead(close: str, ok: bool) -> None:
    errors = _fields(_opportunity(expected_close=close))
    assert errors == ([] if ok else [("expected_close", "date_out_of_range")])
    first, last = close_window(TODAY)
    assert (first, last) == (date(2025, 12, 3), date(2036, 12, 4))


@given(st.text(max_size=30))
def test_the_documented_patterns_say_what_the_rule_enforces(text: str) -> None:
    """The OpenAPI patterns and the check agree on every string."""
    text = text.strip()
    refused = bool(_fields(_opportunity(title=text or "x")))
    assert refused == (re.fullmatch(TEXT_PATTERN[1:-1], text or "x") is None)
    assert re.fullmatch(LONG_TEXT_PATTERN[1:-1], "a\tb\nc")
