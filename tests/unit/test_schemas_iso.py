"""Regions are real ISO 3166-1 countries (with ISO 3166-2 subdivisions), currencies real ISO 4217.

Rejections name the field and why (``iso3166_country`` / ``iso4217_currency``) in the codec's
``InvalidEvent``, hence in dead-letter records; the JSON Schemas say the same as the models.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.codec import decode, encode
from schemas.common import REGION_PATTERN
from schemas.documents import json_schema
from schemas.errors import InvalidEvent
from schemas.iso_codes import COUNTRY_CODES, CURRENCY_CODES
from schemas.operations import dead_letter
from schemas.samples import example
from tests.unit.event_strategies import events_of

FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
OPP = "io.oppbus.opportunity.published.v1"
PARTNER = "io.oppbus.partner.updated.v1"
WON = "io.oppbus.referral.won.v1"
ALL_PAIRS = sorted(a + b for a in string.ascii_uppercase for b in string.ascii_uppercase)

not_countries = st.sampled_from([c for c in ALL_PAIRS if c not in set(COUNTRY_CODES)])
not_currencies = st.from_regex(r"\A[A-Z]{3}\Z").filter(lambda c: c not in set(CURRENCY_CODES))
subdivisions = st.just("") | st.from_regex(r"\A-[A-Z0-9]{1,3}\Z")


def _invalid(ce_type: str, event: Any, change: Any) -> InvalidEvent:
    enc = encode(event, source="urn:test")
    body = orjson.loads(enc.value)
    change(body)
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps(body), enc.headers)
    assert caught.value.reason == "schema"
    return caught.value


@FAST
@given(events_of(OPP), not_countries, subdivisions)
def test_an_unknown_country_is_rejected_naming_region(event: Any, country: str, sub: str) -> None:
    exc = _invalid(OPP, event, lambda b: b.update(region=country + sub))
    [error] = exc.errors
    assert (error.field, error.type) == ("region", "iso3166_country")
    assert repr(country) in error.message and "ISO 3166-1" in error.message


@FAST
@given(events_of(PARTNER), not_countries, st.data())
def test_an_unknown_served_region_is_named_by_index(
    event: Any, country: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(event.regions) - 1))

    def change(body: dict[str, Any]) -> None:
        body["regions"][at] = country

    errors = _invalid(PARTNER, event, change).errors
    assert (errors[0].field, errors[0].type) == (f"regions.{at}", "iso3166_country")
    # pydantic adds "regions: too_short" when the only region failed: still the same field
    assert all(e.field == "regions" for e in errors[1:]), errors


@FAST
@given(events_of(OPP), not_currencies)
def test_an_unknown_currency_is_rejected_naming_it(event: Any, currency: str) -> None:
    exc = _invalid(OPP, event, lambda b: b["deal_size"].update(currency=currency))
    [error] = exc.errors
    assert (error.field, error.type) == ("deal_size.currency", "iso4217_currency")
    assert repr(currency) in error.message


@FAST
@given(events_of(WON), not_currencies)
def test_an_unknown_currency_in_a_won_referral_is_rejected(event: Any, currency: str) -> None:
    exc = _invalid(WON, event, lambda b: b["amount"].update(currency=currency))
    assert [(e.field, e.type) for e in exc.errors] == [("amount.currency", "iso4217_currency")]


@pytest.mark.parametrize("code", ["XTS", "XXX"])
def test_currency_codes_that_are_not_money_are_refused(code: str) -> None:
    event = example(OPP)
    exc = _invalid(OPP, event, lambda b: b["deal_size"].update(currency=code))
    assert exc.errors[0].type == "iso4217_currency"


def test_real_codes_and_subdivisions_are_accepted() -> None:
    event = example(OPP)
    for region, currency in (("GB", "GBP"), ("DE-BY", "EUR"), ("JP-13", "JPY"), ("FR-75C", "EUR")):
        enc = encode(event, source="urn:test")
        body = orjson.loads(enc.value)
        body["region"] = region
        body["deal_size"]["currency"] = currency
        decoded = decode(orjson.dumps(body), enc.headers).event
        assert decoded.region == region and decoded.deal_size.currency == currency


def test_the_dead_letter_record_names_the_field_and_why() -> None:
    event = example(OPP)
    enc = encode(event, source="urn:test")
    body = orjson.loads(enc.value)
    body["region"] = "UK"
    value = orjson.dumps(body)
    try:
        decode(value, enc.headers)
    except InvalidEvent as exc:
        record = dead_letter(
            exc,
            source_topic="opportunities",
            partition=0,
            offset=7,
            key=b"k",
            value=value,
            headers=enc.headers,
            at=datetime(2026, 11, 24, tzinfo=UTC),
        )
    else:
        raise AssertionError("UK is not an ISO 3166-1 code (GB is)")
    assert [(e.field, e.type) for e in record.errors] == [("region", "iso3166_country")]
    assert "'UK'" in record.errors[0].message


def test_json_schema_region_pattern_is_exactly_the_country_list() -> None:
    pattern = re.compile(REGION_PATTERN)
    assert [c for c in ALL_PAIRS if pattern.match(c)] == list(COUNTRY_CODES)
    assert pattern.match("US-CA") and pattern.match("JP-13") and not pattern.match("ZZ-CA")
    assert not pattern.match("US-") and not pattern.match("US-CALI")


@pytest.mark.parametrize(
    "change,ok",
    [
        (lambda d: d.update(region="UK"), False),
        (lambda d: d.update(region="ZZ-CA"), False),
        (lambda d: d.update(region="GB-SCT"), True),
        (lambda d: d["deal_size"].update(currency="ABC"), False),
        (lambda d: d["deal_size"].update(currency="XXX"), False),
        (lambda d: d["deal_size"].update(currency="CHF"), True),
    ],
)
def test_json_schema_agrees_with_the_model(change: Any, ok: bool) -> None:
    event = example(OPP)
    data = orjson.loads(encode(event, source="urn:test").value)
    change(data)
    valid = not list(Draft202012Validator(json_schema(OPP)).iter_errors(data))
    assert valid is ok
