"""Shared fixtures: one real embedded broker per test session; unique names per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.broker import BrokerError, EmbeddedBroker
from ops.procs import free_port
from streams.settings import Settings, load_settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast lane (``-m "not kafka"``) must not start a broker: a test that uses the broker
    fixture without the ``kafka`` marker is a collection error, named."""
    del config
    unmarked = [
        item.nodeid
        for item in items
        if "broker" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("kafka") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using the embedded broker must be marked kafka: " + ", ".join(unmarked)
        )


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """The real Tansu broker, started once per session. Fails loudly if it cannot start."""
    log = Path(tmp_path_factory.mktemp("broker")) / "tansu.log"
    embedded = EmbeddedBroker(log_path=log)
    try:
        embedded.start()
    except BrokerError as exc:  # never skip: a test that needs Kafka must fail without it
        pytest.fail(f"embedded broker could not start: {exc}", pytrace=False)
    yield embedded
    embedded.stop()


@pytest.fixture
def unique() -> str:
    """A name no other test uses: prefix for topics, group ids and app ids."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(broker: EmbeddedBroker, unique: str) -> Settings:
    """Settings pointing at the session broker, with this test's own topics and group."""
    return load_settings(
        {
            "broker": broker.url,
            "topic_prefix": unique,
            "app_id": unique,
            "http_port": free_port(),
            "session_timeout_s": 4.0,
            "partitions": 2,
        },
        env={},
    )
