"""Rules for what partners send in, beyond each contract's shape (HTTP API, CRM inbound).

The contracts (``schemas.opportunity`` etc.) describe the events on the log and stay as released;
these rules narrow what the bus *accepts* from outside, so nothing hostile is stored:

- **free text** (every string of a body): no NUL, no C0 control characters (tab and newline only in
  long text: ``note``, ``reason``, ``description``), no DEL or C1 controls (so no ANSI escape
  sequences, ESC or CSI), no bidirectional overrides or isolates (U+202A-U+202E, U+2066-U+2069,
  U+200E, U+200F, U+061C);
- **industry** (``industry``, ``industries``): a code of :mod:`schemas.industries`;
- **expected_close**: from one year before today to ten years after.

:func:`input_errors` returns each violation as a :class:`FieldError` naming the field (for a 422).
The patterns are stated in the OpenAPI document too (``TEXT_PATTERN``, ``LONG_TEXT_PATTERN``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel

from schemas.errors import FieldError
from schemas.industries import INDUSTRIES

__all__ = [
    "CLOSE_DAYS_AFTER",
    "CLOSE_DAYS_BEFORE",
    "LONG_TEXT_FIELDS",
    "LONG_TEXT_PATTERN",
    "TEXT_PATTERN",
    "close_window",
    "input_errors",
]

_BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
TEXT_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f{_BIDI}]*$"
LONG_TEXT_PATTERN = rf"^[^\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]*$"
_TEXT = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_LONG_TEXT = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
LONG_TEXT_FIELDS = frozenset({"note", "reason", "description"})
CLOSE_DAYS_BEFORE = 366
CLOSE_DAYS_AFTER = 3653


def close_window(today: date) -> tuple[date, date]:
    """The dates ``expected_close`` may take when entered ``today``."""
    return today - timedelta(days=CLOSE_DAYS_BEFORE), today + timedelta(days=CLOSE_DAYS_AFTER)


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """``(dotted path, field name, value)`` of every leaf of a validated model."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    else:
        yield path, _field_name(path), value


def _field_name(path: str) -> str:
    """The last non-index part of a path: ``industries.2`` -> ``industries``."""
    parts = [p for p in path.split(".") if not p.isdigit()]
    return parts[-1] if parts else ""


def _character(text: str, long: bool) -> str | None:
    found = (_LONG_TEXT if long else _TEXT).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def input_errors(model: BaseModel, today: date) -> list[FieldError]:
    """Every violation of the input rules in ``model`` (empty: accepted)."""
    errors: list[FieldError] = []
    for path, name, value in _walk(model, ""):
        if isinstance(value, str):
            bad = _character(value, name in LONG_TEXT_FIELDS)
            if bad is not None:
                message = f"control or bidirectional character {bad} is not allowed"
                errors.append(FieldError(field=path, message=message, type="forbidden_character"))
            elif name in ("industry", "industries") and value not in INDUSTRIES:
                message = "not an industry code (schemas/industries.py), e.g. retail, other"
                errors.append(FieldError(field=path, message=message, type="unknown_industry"))
        elif name == "expected_close" and isinstance(value, date):
            first, last = close_window(today)
            if not first <= value <= last:
                message = f"must be between {first.isoformat()} and {last.isoformat()}"
                errors.append(FieldError(field=path, message=message, type="date_out_of_range"))
    return errors
