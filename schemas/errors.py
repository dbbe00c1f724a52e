"""The one structure naming what is wrong with an event or a request body.

``FieldError(field, message, type)``: ``field`` is a dotted path into the JSON body
(``deal_size.amount``, ``needs.0``, ``customer.contacts.1.email``); ``"$"`` is the object as a whole
(a body that is not an object). Rules across fields (model validators) blame one field by starting
their message with ``"<field>: "`` (``"retains: overlaps needs: storage"``). The HTTP API returns a list of them in its
422 bodies (``{"errors": [...]}``) and dead-letter records carry them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

__all__ = ["ROOT", "FieldError", "InvalidEvent", "field_errors"]

ROOT = "$"


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class FieldError:
    """One bad field and why: ``type`` is a stable machine code (pydantic's error type)."""

    field: str = Field(max_length=500)
    message: str = Field(max_length=2000)
    type: str = Field(max_length=100)

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": self.type}


# A rule across fields (a model validator) names the field it blames: "retains: overlaps needs".
_BLAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): (.+)$", re.DOTALL)


def _message(error: Any) -> str:
    msg = str(error.get("msg", "invalid"))
    # pydantic prefixes errors raised in validators with "Value error, ": not useful to a partner.
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _located(error: Any) -> tuple[str, str]:
    loc: Sequence[int | str] = error.get("loc", ())
    path = ".".join(str(part) for part in loc)
    message = _message(error)
    if error.get("type") == "value_error" and (m := _BLAMED.match(message)):
        # errors of a model validator: its loc is the model, the message names the field
        path = ".".join(p for p in (path, m.group(1)) if p)
        message = m.group(2)
    return path or ROOT, message


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Every error of a pydantic validation failure, with a dotted field path, in order."""
    out: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False):
        field, message = _located(error)
        out.append(
            FieldError(
                field=field[:500],
                message=message[:2000],
                type=str(error.get("type", "value_error"))[:100],
            )
        )
    return out


class InvalidEvent(Exception):
    """An event that cannot be accepted: ``reason`` is a short stable code, ``errors`` the fields.

    Reasons: ``not_json``, ``not_an_object``, ``too_large``, ``missing_header``, ``bad_header``,
    ``unsupported_content_type``, ``unsupported_specversion``, ``unknown_type``, ``schema``.
    """

    def __init__(self, reason: str, detail: str = "", errors: Iterable[FieldError] = ()) -> None:
        self.reason = reason
        self.detail = detail or reason
        self.errors: list[FieldError] = list(errors)
        super().__init__(f"{reason}: {self.detail}")

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of an HTTP 422 / the ``errors`` part of a dead-letter record."""
        return {
            "reason": self.reason,
            "detail": self.detail,
            "errors": [e.as_dict() for e in self.errors],
        }
