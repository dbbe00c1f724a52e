"""Ports for processes the tests start, chosen so that nothing else on the machine takes them first.

``ops.procs.free_port`` asks the kernel for a free port (bind to 0) and lets it go: the port comes
from the ephemeral range, the same range the kernel hands to every outgoing connection and every
other bind-to-0 on the machine, so in the second a child process needs to start and bind it,
someone else's connection can get it ("address already in use"). Ports the tests hand to a child
process come from below the ephemeral range instead: the kernel never gives those out by itself,
so only a process that names the very port can take it. Each is checked free on every address, and
never handed out twice by one test session.
"""

from __future__ import annotations

import random
from pathlib import Path

from ops.procs import port_in_use

__all__ = ["child_port"]

_LOW = 20_000
_given: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default lower bound


def _bindable(port: int) -> bool:
    return not any(port_in_use(host, port) for host in ("0.0.0.0", "127.0.0.1"))


def child_port() -> int:
    """A port, outside the kernel's ephemeral range, for a process the test starts to bind."""
    high = _ephemeral_start()
    candidates = [p for p in range(_LOW, high) if p not in _given]
    random.shuffle(candidates)
    for port in candidates[:1000]:
        if _bindable(port):
            _given.add(port)
            return port
    raise AssertionError(f"no free port in {_LOW}..{high - 1}")
