"""A dependency-free Kafka readiness probe over a plain socket.

Used to decide that a broker is *ready* from synchronous code such as the launcher, the health
check and test fixtures. Ready means a client can bootstrap, not merely that the port speaks Kafka:
on one connection the broker must answer ApiVersions (what every client sends first) and then
Metadata for all topics (what a client's bootstrap needs). Tansu on its ``s3://`` engine answers
ApiVersions as soon as it listens, but serves Metadata from storage: while the storage cannot
answer yet it closes the connection instead, and a client bootstrapping then fails with
"Unable to bootstrap from ...".
"""

from __future__ import annotations

import socket
import struct

__all__ = ["kafka_answers"]

_API_VERSIONS = 18
_METADATA = 3


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when host:port answers ApiVersions v0 (error code 0) and Metadata v1 (a broker listed)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            versions = _round_trip(sock, _API_VERSIONS, 0, 7, b"")
            # Metadata v1 with a null topic array: every topic, as a client's bootstrap asks.
            metadata = _round_trip(sock, _METADATA, 1, 8, struct.pack(">i", -1))
    except (OSError, struct.error):
        return False
    if len(versions) < 2 or struct.unpack(">h", versions[:2])[0] != 0:
        return False
    return len(metadata) >= 4 and struct.unpack(">i", metadata[:4])[0] > 0


def _round_trip(
    sock: socket.socket, api_key: int, api_version: int, correlation_id: int, body: bytes
) -> bytes:
    """Send one request, return the response after its correlation id (checked)."""
    client_id = b"oppbus-probe"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    request = header + body
    sock.sendall(struct.pack(">i", len(request)) + request)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    payload = _recv_exact(sock, size)
    (answered,) = struct.unpack(">i", payload[:4])
    if answered != correlation_id:
        raise ConnectionError(f"correlation id {answered}, expected {correlation_id}")
    return payload[4:]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        chunks += chunk
    return bytes(chunks)
