from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ops.broker import BrokerError, EmbeddedBroker
from streams.runtime.kafka_probe import kafka_answers

pytestmark = pytest.mark.kafka


def test_session_broker_speaks_kafka(broker: EmbeddedBroker) -> None:
    assert broker.running()
    assert kafka_answers(broker.host, broker.port)


def test_port_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} .* already in use"):
            EmbeddedBroker(port=port, log_path=tmp_path / "b.log").start()


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPPBUS_TANSU_BIN", "/nonexistent/tansu")
    with pytest.raises(BrokerError, match="not an executable file"):
        EmbeddedBroker().start()


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    b = EmbeddedBroker(log_path=tmp_path / "b.log").start()
    pid = b.pid
    assert pid is not None
    b.stop()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not kafka_answers(b.host, b.port, timeout=0.2)
