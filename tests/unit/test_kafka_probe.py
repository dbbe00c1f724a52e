from __future__ import annotations

import socket

from ops.kafka_probe import kafka_answers
from ops.procs import free_port


def test_nothing_listening_is_not_kafka() -> None:
    assert not kafka_answers("127.0.0.1", free_port(), timeout=0.2)


def test_a_silent_tcp_server_is_not_kafka() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert not kafka_answers("127.0.0.1", server.getsockname()[1], timeout=0.2)
