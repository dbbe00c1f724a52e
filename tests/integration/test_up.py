"""`oppbus up` as a user runs it: healthy, stops on SIGTERM with nothing left, clear errors."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.ports import child_port
from tests.proc_tree import alive, descendants

pytestmark = pytest.mark.kafka


def _oppbus(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """Lines of ``proc``'s stdout up to and including the first one containing ``marker``."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} within {timeout} s; exit={proc.poll()}; saw {seen}")


def _hold_next_port() -> tuple[int, socket.socket]:
    """A port for `up`'s API whose successor we hold (bound and listening): picked again while
    the successor is taken, which is a choice, not a retry after a failure."""
    for _ in range(50):
        port = child_port()
        taken = socket.socket()
        try:
            taken.bind(("127.0.0.1", port + 1))
        except OSError:
            taken.close()
            continue
        taken.listen(1)
        return port, taken
    raise AssertionError("no free port with a free successor in 50 tries")


def test_up_is_healthy_routing_and_sigterm_leaves_nothing_running() -> None:
    broker_port = child_port()
    # the worker's default web port (http port + 1) is taken: `up` picks another one
    http_port, taken = _hold_next_port()
    with taken:
        proc = _oppbus("up", "--http-port", str(http_port), "--broker-port", str(broker_port))
        try:
            out = _read_until(proc, "ready. Press Ctrl-C", timeout=120)
            assert any("worker   routing" in line for line in out), out
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as r:
                assert r.status == 200
                body = json.loads(r.read())
            assert body["broker"]["reachable"] is True
            assert body["broker"]["url"] == f"kafka://127.0.0.1:{broker_port}"
            children = descendants(proc.pid)
            assert len(children) >= 3  # broker, worker, api
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    time.sleep(0.5)
    assert not [pid for pid in children if alive(pid)]


def test_up_with_broker_port_taken_fails_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _oppbus("up", "--http-port", str(child_port()), "--broker-port", str(port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert f"port {port}" in lines[0] and "already in use" in lines[0]
