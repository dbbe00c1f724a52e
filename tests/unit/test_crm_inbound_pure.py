"""CRM inbound without a broker: HubSpot v3 / Salesforce signatures, replays, declarative mapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

import connectors.crm
from connectors.crm.mapping import (
    CrmConfigError,
    CrmConfigs,
    MappingRuleError,
    apply_mapping,
    parse_mapping,
)
from connectors.crm.signatures import (
    SignatureError,
    hubspot_uri,
    salesforce_signature,
    verify_hubspot,
    verify_salesforce,
)
from schemas.opportunity import OpportunityInput

SAMPLES = Path(connectors.crm.__file__).parent / "samples"
SECRET = "hubspot-client-secret-0123456789"
NOW = 1_795_000_000.0


def _hubspot_headers(method: str, uri: str, body: bytes, ts_ms: int, secret: str = SECRET) -> dict:
    message = f"{method}{uri}".encode() + body + str(ts_ms).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return {
        "X-HubSpot-Signature-v3": signature.decode(),
        "X-HubSpot-Request-Timestamp": str(ts_ms),
    }


def test_hubspot_v3_signature_over_method_uri_body_timestamp() -> None:
    uri = "https://bus.example.com/v1/crm/hubspot/net-reseller"
    body = b'{"objectId":1}'
    headers = _hubspot_headers("POST", uri, body, int(NOW * 1000))
    signature, ts = verify_hubspot(SECRET, "POST", uri, headers, body, now=NOW + 10)
    assert signature == headers["X-HubSpot-Signature-v3"] and ts == NOW


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("body", "bad_signature"),
        ("uri", "bad_signature"),
        ("secret", "bad_signature"),
        ("old", "stale"),
        ("future", "stale"),
        ("missing", "missing"),
    ],
)
def test_hubspot_tampering_and_stale_requests_fail(change: str, code: str) -> None:
    uri = "https://bus.example.com/v1/crm/hubspot/net-reseller"
    body = b'{"objectId":1}'
    ts_ms = int(NOW * 1000) - {"old": 301_000, "future": -301_000}.get(change, 0)
    headers = _hubspot_headers("POST", uri, body, ts_ms, "x" * 20 if change == "secret" else SECRET)
    if change == "missing":
        del headers["X-HubSpot-Signature-v3"]
    with pytest.raises(SignatureError) as info:
        verify_hubspot(
            SECRET,
            "POST",
            uri + ("?x=1" if change == "uri" else ""),
            headers,
            body + (b" " if change == "body" else b""),
            now=NOW,
        )
    assert info.value.code == code


def test_hubspot_uri_decodes_the_listed_escapes() -> None:
    assert hubspot_uri("https://h.example/a%3Ab%2Fc?d=%40e%2c") == "https://h.example/a:b/c?d=@e,"


def test_salesforce_shared_secret_signature() -> None:
    body = b'{"Id":"006"}'
    stamp = str(int(NOW))
    headers = {
        "X-Oppbus-Timestamp": stamp,
        "X-Oppbus-Signature": salesforce_signature("s" * 32, stamp, body),
    }
    assert verify_salesforce("s" * 32, headers, body, now=NOW)[1] == NOW
    with pytest.raises(SignatureError, match="does not match"):
        verify_salesforce("s" * 32, headers, body + b"x", now=NOW)
    with pytest.raises(SignatureError) as info:
        verify_salesforce("s" * 32, headers, body, now=NOW + 400)
    assert info.value.code == "stale"


def _configs(tmp_path: Path) -> CrmConfigs:
    shutil.copy(SAMPLES / "hubspot_mapping.toml", tmp_path / "net-reseller.toml")
    shutil.copy(SAMPLES / "salesforce_mapping.json", tmp_path / "sf-partner.json")
    return CrmConfigs(tmp_path)


def test_hubspot_sample_deal_maps_to_a_valid_opportunity(tmp_path: Path) -> None:
    config = _configs(tmp_path).provider("net-reseller", "hubspot")
    assert config is not None
    payload = orjson.loads((SAMPLES / "hubspot_deal.json").read_bytes())
    opp = OpportunityInput.model_validate(apply_mapping(config.mapping, payload))
    assert opp.opportunity_id == "hs-9876543210"
    assert opp.needs == ("storage", "backup") and opp.retains == ("networking",)
    assert opp.region == "US" and opp.industry == "retail"
    assert opp.deal_size.amount == Decimal("185000.50") and opp.deal_size.currency == "USD"
    assert opp.expected_close == date(2027, 3, 31)
    assert opp.customer.normalised_domain == "contoso-retail.com"
    assert opp.customer.contacts[0].email == "ada.lovelace@contoso-retail.com"


def test_salesforce_sample_maps_to_a_valid_opportunity(tmp_path: Path) -> None:
    config = _configs(tmp_path).provider("sf-partner", "salesforce")
    assert config is not None
    payload = orjson.loads((SAMPLES / "salesforce_opportunity.json").read_bytes())
    opp = OpportunityInput.model_validate(apply_mapping(config.mapping, payload))
    assert opp.opportunity_id == "sf-0065g00000AbCdEAAZ"
    assert opp.needs == ("networking", "security") and opp.region == "DE"
    assert opp.deal_size.amount == Decimal(42000) and opp.max_partners == 2
    assert opp.customer.contacts[0].role == "IT Director"
    assert _configs(tmp_path).provider("sf-partner", "hubspot") is None


def test_mapping_defaults_missing_values_and_bad_rules() -> None:
    rules = parse_mapping(
        {
            "industry": {"path": "a.b", "default": "other"},
            "title": "x",
            "expected_close": {"path": "d", "as": "date"},
        }
    )
    assert apply_mapping(rules, {"x": "T", "d": "2027-01-02T10:00:00+02:00"}) == {
        "industry": "other",
        "title": "T",
        "expected_close": "2027-01-02",
    }
    with pytest.raises(MappingRuleError, match="expected_close"):
        apply_mapping(rules, {"d": "soon"})
    with pytest.raises(ValueError, match="title"):
        parse_mapping({"title": {"path": "x", "value": "y"}})
    with pytest.raises(ValueError, match="title"):
        parse_mapping({"title": {"path": "x", "unknown": 1}})


def test_config_files_are_validated_reloaded_and_never_traversed(tmp_path: Path) -> None:
    configs = _configs(tmp_path)
    assert configs.provider("../etc/passwd", "hubspot") is None
    assert configs.provider("nobody", "hubspot") is None
    assert CrmConfigs(None).provider("net-reseller", "hubspot") is None
    (tmp_path / "broken.toml").write_text('[hubspot]\nclient_secret = "short"\n')
    with pytest.raises(CrmConfigError, match="client_secret"):
        configs.provider("broken", "hubspot")
    path = tmp_path / "net-reseller.toml"
    text = path.read_text().replace("replace-with-the-hubspot-app-client-secret", "n" * 40)
    path.write_text(text)

    os.utime(path, (NOW, NOW))
    config = configs.provider("net-reseller", "hubspot")
    assert config is not None and config.secret.get_secret_value() == "n" * 40
