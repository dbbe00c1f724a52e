"""Child processes that never outlive oppbus.

Every process oppbus starts (broker, S3 server, worker, API) goes through :func:`spawn`: it gets
its own process group (so a Ctrl-C in the terminal reaches oppbus, which then stops it in order) and,
on Linux, ``PR_SET_PDEATHSIG=SIGKILL`` so that even a ``kill -9`` of oppbus leaves no orphan.
:func:`stop` asks politely (SIGTERM), waits, then kills the whole group.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

__all__ = ["free_port", "port_in_use", "spawn", "stop", "wait_until"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(
    argv: Sequence[str],
    *,
    log: Path | IO[bytes] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, bound to our lifetime, output to ``log``."""
    out: IO[bytes] | int
    if isinstance(log, Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        out = open(log, "ab")  # handed to the child, closed below
    elif log is None:
        out = subprocess.DEVNULL
    else:
        out = log
    try:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    finally:
        if isinstance(log, Path) and not isinstance(out, int):
            out.close()


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 5.0, sig: int = signal.SIGTERM) -> int:
    """Stop ``proc`` and its process group: ``sig`` first, SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return proc.returncode
    _signal_group(proc, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        return proc.wait(timeout=5.0)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (or the port cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the usual race applies; callers retry on failure)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool], *, timeout: float, interval: float = 0.05, alive: Callable[[], bool]
) -> bool:
    """Poll ``check`` until true, ``timeout`` passes, or ``alive`` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if not alive():
            return False
        time.sleep(interval)
    return check()
