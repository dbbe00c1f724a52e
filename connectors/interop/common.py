"""What every interop mapper shares: the oppbus referral status, mapping errors, document access.

Mappers are pure functions from one vendor document (parsed JSON: dicts, lists, strings, numbers)
to oppbus contracts and back. Vendor APIs differ in key casing (Partner Center answers in camelCase
while its documentation names the fields in PascalCase), so lookups accept both spellings.

A document that cannot be mapped raises :class:`MappingError` naming every bad field with the
contracts' :class:`~schemas.errors.FieldError` (dotted path into the *vendor* document), the same
structure the HTTP API returns in its 422 bodies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import ValidationError

from schemas.errors import FieldError, field_errors
from schemas.opportunity import OpportunityInput

__all__ = [
    "REFERRAL_STATUSES",
    "MappingError",
    "ReferralStatus",
    "capabilities_from_names",
    "email_domain",
    "get",
    "parse_date",
    "parse_decimal",
    "safe_id",
    "validated_opportunity",
]

ReferralStatus = Literal["offered", "accepted", "declined", "expired", "won", "lost", "withdrawn"]
REFERRAL_STATUSES: tuple[str, ...] = ReferralStatus.__args__  # type: ignore[attr-defined]

_ID_BAD = re.compile(r"[^A-Za-z0-9._:-]+")


class MappingError(ValueError):
    """A vendor document that does not map to an oppbus contract; ``errors`` name the fields."""

    def __init__(self, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[FieldError] = list(errors)

    @classmethod
    def field(cls, path: str, message: str, type_: str = "mapping") -> MappingError:
        return cls(f"{path}: {message}", [FieldError(field=path, message=message, type=type_)])


def _variants(key: str) -> tuple[str, ...]:
    camel = key[:1].lower() + key[1:]
    pascal = key[:1].upper() + key[1:]
    return (key, camel, pascal)


def get(doc: Any, path: str, default: Any = None) -> Any:
    """``get(doc, "Details.Requirements.Industries")``: dotted lookup, PascalCase or camelCase;
    integer parts index lists. ``default`` when any part is missing or null."""
    node = doc
    for part in path.split("."):
        if isinstance(node, Mapping):
            for name in _variants(part):
                if name in node:
                    node = node[name]
                    break
            else:
                return default
        elif isinstance(node, list) and part.isdigit():
            index = int(part)
            if index >= len(node):
                return default
            node = node[index]
        else:
            return default
        if node is None:
            return default
    return node


def safe_id(value: Any) -> str | None:
    """A vendor id made into an oppbus ``OpportunityId`` (``[A-Za-z0-9._:-]``, 128 chars max)."""
    if value is None:
        return None
    text = _ID_BAD.sub("-", str(value).strip()).strip("-._:")
    return text[:128] or None


def parse_date(value: Any, path: str) -> date:
    """A date from ``2026-12-31`` or an ISO date-time (its UTC date)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        raise MappingError.field(path, "a date is required")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError.field(path, f"not an ISO date: {value[:40]!r}") from None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def parse_decimal(value: Any, path: str) -> Decimal:
    """A decimal amount from a number or a numeric string (never through a float's noise)."""
    if isinstance(value, bool) or value is None:
        raise MappingError.field(path, "an amount is required")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise MappingError.field(path, f"not a number: {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise MappingError.field(path, "not a finite number")
    return amount.quantize(Decimal("0.01"))


def email_domain(email: Any) -> str | None:
    if not isinstance(email, str) or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


def capabilities_from_names(names: Sequence[str], table: Mapping[str, str]) -> tuple[str, ...]:
    """Capability codes for vendor product/solution names: every ``table`` keyword (lowercase)
    found in a name adds its capability; order of first appearance, no duplicates."""
    found: list[str] = []
    for name in names:
        lowered = name.lower()
        for keyword, capability in table.items():
            if keyword in lowered and capability not in found:
                found.append(capability)
    return tuple(found)


def validated_opportunity(data: dict[str, Any], origin: Mapping[str, str]) -> OpportunityInput:
    """Validate mapped data as an :class:`OpportunityInput`; field errors are re-labelled with
    the vendor path they came from (``origin``: oppbus top-level field -> vendor path)."""
    try:
        return OpportunityInput.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in field_errors(exc):
            top = err.field.split(".", 1)[0]
            where = origin.get(top)
            label = f"{where} ({err.field})" if where else err.field
            errors.append(FieldError(field=label[:500], message=err.message, type=err.type))
        raise MappingError(f"{len(errors)} invalid field(s)", errors) from None
