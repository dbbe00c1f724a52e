"""`oppbus up` as a user runs it: healthy, stops on SIGTERM with nothing left, clear errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ops.procs import free_port

pytestmark = pytest.mark.kafka


def _oppbus(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found |= {child} | _descendants(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_up_is_healthy_and_sigterm_leaves_nothing_running() -> None:
    http_port, broker_port = free_port(), free_port()
    proc = _oppbus("up", "--http-port", str(http_port), "--broker-port", str(broker_port))
    try:
        body = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{http_port}/healthz", timeout=1
                ) as r:
                    assert r.status == 200
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert body is not None, f"never healthy; exit={proc.poll()}"
        assert body["broker"]["reachable"] is True
        assert body["broker"]["url"] == f"kafka://127.0.0.1:{broker_port}"
        children = _descendants(proc.pid)
        assert len(children) >= 3  # broker, worker, api
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "ready" in out
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)]


def test_up_with_broker_port_taken_fails_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _oppbus("up", "--http-port", str(free_port()), "--broker-port", str(port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert f"port {port}" in lines[0] and "already in use" in lines[0]
