"""Value types shared by every contract: ids, regions, capabilities, money, UTC timestamps."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from schemas.iso_codes import COUNTRY_CODES, CURRENCY_CODES
from schemas.taxonomy import CAPABILITIES, check_capability

__all__ = [
    "REGION_PATTERN",
    "Capability",
    "Contract",
    "Currency",
    "DecimalString",
    "IsoDate",
    "Money",
    "OpportunityId",
    "PartnerId",
    "Region",
    "UtcDatetime",
    "region_covers",
]


class Contract(BaseModel):
    """Base of every contract: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


PartnerId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$", strip_whitespace=True)
]
OpportunityId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", strip_whitespace=True)
]
_COUNTRIES = frozenset(COUNTRY_CODES)
_CURRENCIES = frozenset(CURRENCY_CODES)


def _grouped(codes: tuple[str, ...]) -> str:
    """``AD AE BA`` -> ``A[DE]|BA``: the alternation of two-letter codes, grouped by first letter."""
    groups: dict[str, str] = {}
    for code in codes:
        groups[code[0]] = groups.get(code[0], "") + code[1]
    return "|".join(f"{k}[{v}]" if len(v) > 1 else k + v for k, v in groups.items())


# The JSON Schema pattern of a region: a real ISO 3166-1 alpha-2 country, optionally followed by an
# ISO 3166-2 subdivision suffix (its shape only: "US-CA", "DE-BY", "FR-75C").
REGION_PATTERN = f"^(?:{_grouped(COUNTRY_CODES)})(?:-[A-Z0-9]{{1,3}})?$"


def _real_country(value: str) -> str:
    country = value[:2]
    if country not in _COUNTRIES:
        where = "" if value == country else f" (in {value!r})"
        raise PydanticCustomError(
            "iso3166_country",
            "{country}{where} is not an ISO 3166-1 alpha-2 country code",
            {"country": repr(country), "where": where},
        )
    return value


def _real_currency(value: str) -> str:
    if value not in _CURRENCIES:
        raise PydanticCustomError(
            "iso4217_currency",
            "{currency} is not an ISO 4217 currency code",
            {"currency": repr(value)},
        )
    return value


# An ISO 3166-1 alpha-2 country, optionally with an ISO 3166-2 subdivision: "US", "US-CA", "DE-BY".
# The country must be a real one (schemas/iso_codes.py); the subdivision part is checked for shape.
Region = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", strip_whitespace=True),
    AfterValidator(_real_country),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": REGION_PATTERN,
            "description": "ISO 3166-1 alpha-2 country code, or an ISO 3166-2 subdivision of one "
            "(US-CA); a served country covers its subdivisions",
            "examples": ["US", "US-CA", "DE"],
        }
    ),
]
Capability = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$", strip_whitespace=True),
    AfterValidator(check_capability),
    Field(
        description="a code of the capability taxonomy (schemas/taxonomy.py): "
        + ", ".join(CAPABILITIES)
        + "; a deployment may add codes (OPPBUS_EXTRA_CAPABILITIES)"
    ),
]
# An ISO 4217 alphabetic currency code (schemas/iso_codes.py: the current list, less XTS and XXX).
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_real_currency),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(CURRENCY_CODES),
            "description": "ISO 4217 alphabetic currency code",
        }
    ),
]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _only_time_text(value: object) -> object:
    """Times travel as RFC 3339 text with an offset: numbers (epoch seconds) are not guessed at."""
    if isinstance(value, datetime) or (isinstance(value, str) and _TIME_RE.match(value)):
        return value
    raise ValueError("must be an RFC 3339 timestamp with offset, like 2026-11-24T09:00:00Z")


def _only_date_text(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DATE_RE.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date, like 2027-03-31")


# Timezone-aware only (a naive timestamp is rejected), normalised to UTC.
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_only_time_text), AfterValidator(_to_utc)]
# A calendar date: "2027-03-31" on the wire.
IsoDate = Annotated[date, BeforeValidator(_only_date_text)]


def _decimal_str(value: Decimal) -> str:
    return format(value, "f")


_DECIMAL_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
_DECIMAL_RE = re.compile(_DECIMAL_PATTERN)


def _only_decimal_text(value: object) -> object:
    """Amounts travel as decimal strings: a float (or int, or bool) on the wire is rejected."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        if not _DECIMAL_RE.match(value.strip()):
            raise ValueError('must be a decimal string like "1250.00" (no exponent, 2 places max)')
        return value.strip()
    raise ValueError(f'must be a decimal string like "1250.00", not a {type(value).__name__}')


# A non-negative amount with at most 2 decimal places; a JSON string on the wire, never a number.
DecimalString = Annotated[
    Decimal,
    # constraints first: pydantic-core checks them natively (after a validator they run in Python)
    Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False),
    BeforeValidator(_only_decimal_text),
    PlainSerializer(_decimal_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN, "examples": ["250000.00"]}),
]


class Money(Contract):
    """An amount as a decimal string (never a float) in an ISO 4217 currency."""

    amount: DecimalString
    currency: Currency


def region_covers(served: str, wanted: str) -> bool:
    """A served region covers the wanted one when equal or its parent country (`US` covers `US-CA`)."""
    return served == wanted or (len(served) == 2 and wanted.startswith(served + "-"))
