"""A dependency-free Kafka liveness probe: one ApiVersions request over a plain socket.

Used to decide that a broker is *ready* (it speaks the Kafka protocol, not merely accepts TCP),
from synchronous code such as the launcher and test fixtures.
"""

from __future__ import annotations

import socket
import struct

__all__ = ["kafka_answers"]

_API_VERSIONS = 18


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when host:port answers an ApiVersions v0 request with error code 0."""
    client_id = b"oppbus-probe"
    body = struct.pack(">hhih", _API_VERSIONS, 0, 7, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exact(sock, 4)
            (size,) = struct.unpack(">i", head)
            payload = _recv_exact(sock, size)
    except OSError:
        return False
    if len(payload) < 6:
        return False
    correlation_id, error_code = struct.unpack(">ih", payload[:6])
    return bool(correlation_id == 7 and error_code == 0)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        chunks += chunk
    return bytes(chunks)
