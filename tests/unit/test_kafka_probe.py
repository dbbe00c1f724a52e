from __future__ import annotations

import socket
import struct
import threading

from ops.procs import free_port
from streams.runtime.kafka_probe import kafka_answers


def test_nothing_listening_is_not_kafka() -> None:
    assert not kafka_answers("127.0.0.1", free_port(), timeout=0.2)


def test_a_silent_tcp_server_is_not_kafka() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert not kafka_answers("127.0.0.1", server.getsockname()[1], timeout=0.2)


def _serve_api_versions_then_close(server: socket.socket) -> None:
    """A broker that speaks Kafka but cannot serve Metadata yet (Tansu while S3 is not ready)."""
    conn, _ = server.accept()
    with conn:
        size = struct.unpack(">i", conn.recv(4))[0]
        request = b""
        while len(request) < size:
            request += conn.recv(size - len(request))
        correlation_id = request[4:8]
        answer = correlation_id + struct.pack(">hi", 0, 0)  # error 0, no api keys
        conn.sendall(struct.pack(">i", len(answer)) + answer)
        conn.recv(4096)  # the Metadata request: closed unanswered


def test_a_broker_that_closes_the_metadata_request_is_not_ready() -> None:
    """Regression: a restarted durable broker answered ApiVersions, so it was reported ready, but
    closed the Metadata connection and the first client failed "Unable to bootstrap"."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=_serve_api_versions_then_close, args=(server,))
        thread.start()
        try:
            assert not kafka_answers("127.0.0.1", server.getsockname()[1], timeout=2.0)
        finally:
            thread.join(timeout=5)
