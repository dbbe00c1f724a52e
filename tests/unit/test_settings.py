from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import load_settings


def test_defaults_match_the_public_interface() -> None:
    s = load_settings({}, env={})
    assert s.http_port == 8080
    assert s.broker_port == 9092
    assert s.embedded
    assert s.data_dir is None
    assert s.broker_url == "kafka://127.0.0.1:9092"


def test_flags_win_over_env_which_win_over_defaults() -> None:
    env = {"OPPBUS_HTTP_PORT": "9000", "OPPBUS_BROKER_PORT": "9999", "OPPBUS_DATA_DIR": "/x"}
    s = load_settings({"http_port": 7000, "broker_port": None}, env=env)
    assert s.http_port == 7000
    assert s.broker_port == 9999
    assert str(s.data_dir) == "/x"


def test_existing_kafka_is_not_embedded() -> None:
    s = load_settings({"broker": "kafka://kafka-1:9092"}, env={})
    assert not s.embedded
    assert s.bootstrap_servers == "kafka-1:9092"


def test_admin_token_is_secret() -> None:
    s = load_settings({}, env={"OPPBUS_ADMIN_TOKEN": "s3cret"})
    assert s.admin_token is not None
    assert "s3cret" not in repr(s)
    assert s.admin_token.get_secret_value() == "s3cret"


@pytest.mark.parametrize("bad", ["localhost:9092", "http://x:1"])
def test_bad_broker_url_is_rejected(bad: str) -> None:
    with pytest.raises(ValidationError, match="kafka://host:port"):
        load_settings({"broker": bad}, env={})


def test_settings_are_frozen() -> None:
    s = load_settings({}, env={})
    with pytest.raises(ValidationError):
        s.http_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(("wait_ms", "linger_ms"), [(1, 1), (10, 1), (100, 10), (250, 25)])
def test_producers_linger_a_tenth_of_the_fetch_wait(wait_ms: int, linger_ms: int) -> None:
    # a bus set for a sustained load (a longer wait) also writes fewer, fuller batches
    s = load_settings({}, env={"OPPBUS_FETCH_WAIT_MS": str(wait_ms)})
    assert s.producer_linger_ms == linger_ms


def test_the_workers_producer_lingers_as_the_settings_say() -> None:
    from streams.runtime.app import create_app

    s = load_settings({"broker": "kafka://127.0.0.1:1"}, env={"OPPBUS_FETCH_WAIT_MS": "250"})
    assert create_app(s).conf.producer_linger == 0.025
