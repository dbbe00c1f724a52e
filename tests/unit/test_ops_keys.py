"""The bus's keys on disk: created private (0600 in 0700), reused, and never invented alone."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ops.cli import main
from ops.keys import MissingKey, child_env, provision_keys, read_or_create_secret, service_key_file
from streams.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    first = provision_keys(load_settings({"data_dir": data}, env={}), {}, standalone=True)
    again = provision_keys(load_settings({"data_dir": data}, env={}), {}, standalone=True)
    assert first.service_key.get_secret_value() == again.service_key.get_secret_value()
    assert first.data_keys.get_secret_value() == again.data_keys.get_secret_value()
    assert _mode(data / "keys" / "data.keys") == 0o600
    assert _mode(data) == 0o700  # an existing world-readable data dir is made private
    assert _mode(service_key_file(data).parent) == 0o700
    assert _mode(service_key_file(data)) == 0o600


def test_the_environment_wins_over_the_key_file(tmp_path: Path) -> None:
    env = {"OPPBUS_SERVICE_KEY": "from-env"}
    settings = provision_keys(load_settings({"data_dir": tmp_path}, env=env), env, standalone=True)
    assert settings.service_key.get_secret_value() == "from-env"
    assert not (tmp_path / "keys" / "service.key").exists()
    assert (tmp_path / "keys" / "data.keys").exists()  # the other key still from the data dir


def test_up_hands_both_keys_to_its_children() -> None:
    settings = load_settings({}, env={})
    env = child_env(settings)
    assert env == {
        "OPPBUS_SERVICE_KEY": settings.service_key.get_secret_value(),
        "OPPBUS_DATA_KEYS": settings.data_keys.get_secret_value(),
    }
    assert load_settings({}, env=env).data_keys == settings.data_keys


def test_a_readable_key_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "service.key"
    path.parent.mkdir()
    path.write_text("abc\n")
    path.chmod(0o644)
    assert read_or_create_secret(path, "unused") == "abc"
    assert _mode(path) == 0o600


def test_a_standalone_process_without_a_key_refuses_to_start(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MissingKey, match="OPPBUS_SERVICE_KEY"):
        provision_keys(load_settings({}, env={}), {}, standalone=True)
    monkeypatch.delenv("OPPBUS_SERVICE_KEY", raising=False)
    monkeypatch.delenv("OPPBUS_DATA_DIR", raising=False)
    assert main(["api", "--broker", "kafka://127.0.0.1:1"]) == 2
    assert "OPPBUS_SERVICE_KEY" in capsys.readouterr().err


def test_up_on_an_existing_kafka_needs_the_keys_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPPBUS_SERVICE_KEY", "OPPBUS_DATA_KEYS", "OPPBUS_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert main(["up", "--broker", "kafka://127.0.0.1:1"]) == 2
    assert "OPPBUS_SERVICE_KEY" in capsys.readouterr().err
