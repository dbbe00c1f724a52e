"""Ports handed to child processes come from outside the kernel's ephemeral range (tests.ports)."""

from __future__ import annotations

import socket

from tests.ports import _ephemeral_start, child_port


def test_child_ports_are_below_the_ephemeral_range_free_and_never_repeated() -> None:
    ports = [child_port() for _ in range(20)]
    assert len(set(ports)) == 20
    assert all(20_000 <= p < _ephemeral_start() for p in ports)
    for port in ports:  # free a moment ago, and the kernel hands none of them out by itself
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
