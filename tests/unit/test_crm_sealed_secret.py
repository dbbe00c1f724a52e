"""A CRM secret sealed with the bus's data keys: the config file holds no secret in clear."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import connectors.crm
from connectors.crm.mapping import CrmConfigError, CrmConfigs
from ops.cli import main
from schemas.field_crypto import fresh_keyring, install_data_keys, new_data_key, seal_secret

SAMPLES = Path(connectors.crm.__file__).parent / "samples"
SECRET = "the-hubspot-client-secret-0123456789"
PLACEHOLDER = "replace-with-the-hubspot-app-client-secret"


@pytest.fixture(autouse=True)
def fresh_ring() -> Iterator[None]:
    with fresh_keyring():
        yield


def _write(tmp_path: Path, secret: str) -> CrmConfigs:
    toml = (SAMPLES / "hubspot_mapping.toml").read_text().replace(PLACEHOLDER, secret)
    (tmp_path / "net-reseller.toml").write_text(toml)
    return CrmConfigs(tmp_path)


def test_a_sealed_secret_is_opened_with_the_data_keys(tmp_path: Path) -> None:
    keys = new_data_key()
    install_data_keys(keys)
    sealed = seal_secret(SECRET, "crm.hubspot")
    assert SECRET not in sealed and sealed.startswith("encv1:")
    config = _write(tmp_path, sealed).provider("net-reseller", "hubspot")
    assert config is not None and config.secret.get_secret_value() == SECRET
    assert SECRET not in (tmp_path / "net-reseller.toml").read_text()
    other = tmp_path / "other-bus"
    other.mkdir()
    with fresh_keyring(), pytest.raises(CrmConfigError, match="client_secret"):
        install_data_keys(new_data_key())  # another bus's keys
        _write(other, sealed).provider("net-reseller", "hubspot")


def test_sealed_for_salesforce_does_not_open_as_hubspot(tmp_path: Path) -> None:
    install_data_keys(new_data_key())
    with pytest.raises(CrmConfigError, match="does not decrypt"):
        _write(tmp_path, seal_secret(SECRET, "crm.salesforce")).provider("net-reseller", "hubspot")


def test_the_seal_secret_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = new_data_key()
    monkeypatch.setenv("OPPBUS_DATA_KEYS", keys)
    monkeypatch.setenv("OPPBUS_SERVICE_KEY", "k")
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["seal-secret", "--purpose", "crm.hubspot"]) == 0
    sealed = capsys.readouterr().out.strip()
    with fresh_keyring():
        install_data_keys(keys)  # the API process, started with the same keys
        config = _write(tmp_path, sealed).provider("net-reseller", "hubspot")
    assert config is not None and config.secret.get_secret_value() == SECRET
