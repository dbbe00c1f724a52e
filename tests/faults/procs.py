"""Fault-injection harness, processes: real ``oppbus worker`` subprocesses to kill -9 and restart.

A :class:`WorkerPool` starts workers exactly as a user would (``oppbus worker --broker ...``), with
the test's own topic prefix, app id (consumer group) and a short session timeout, each logging to its
own file. Workers can be stopped politely, killed with SIGKILL, and started again; the pool stops
whatever is left at the end, and every worker dies with the test process anyway (``ops.procs``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ops.procs import spawn, stop
from streams.settings import Settings
from tests.integration.polling import wait_for_sync
from tests.ports import child_port
from tests.proc_tree import alive, descendants

__all__ = ["ApiProc", "WorkerPool", "WorkerProc", "alive", "descendants"]


def worker_env(settings: Settings, web_port: int) -> dict[str, str]:
    """The environment of a worker: ours without OPPBUS_*, plus the test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env.update(
        {
            "OPPBUS_TOPIC_PREFIX": settings.topic_prefix,
            "OPPBUS_APP_ID": settings.app_id,
            "OPPBUS_SESSION_TIMEOUT_S": str(settings.session_timeout_s),
            "OPPBUS_OFFER_TTL_S": str(settings.offer_ttl_s),
            "OPPBUS_WORKER_WEB_PORT": str(web_port),
            "OPPBUS_SERVICE_KEY": settings.service_key.get_secret_value(),
            "OPPBUS_DATA_KEYS": settings.data_keys.get_secret_value(),
        }
    )
    return env


@dataclass
class WorkerProc:
    """One ``oppbus worker`` subprocess."""

    name: str
    settings: Settings
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    web_port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> WorkerProc:
        assert not self.running(), f"{self.name} is already running"
        argv = [sys.executable, "-m", "ops.cli", "worker", "--broker", self.settings.broker_url]
        argv += ["--http-port", str(child_port()), "--partitions", str(self.settings.partitions)]
        argv += ["--log-level", "warning"]
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== start {self.starts + 1} at {time.time():.3f}\n".encode())
        self.web_port = child_port()  # its web server binds it: see tests.ports
        env = {**worker_env(self.settings, self.web_port), **self.env}
        self.proc = spawn(argv, log=self.log_path, env=env)
        self.starts += 1
        return self

    def wait_ready(self, timeout: float = 30.0) -> WorkerProc:
        """Wait until the worker's web server answers (it is started, agents are running).

        Its web port comes from ``tests.ports.child_port``, outside the range the kernel hands
        out, so no other process takes it while the worker starts: a worker that exits here
        failed for a reason of its own, reported with its log.
        """

        def answers() -> bool:
            assert self.proc is not None, f"{self.name} is not started"
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/", timeout=1):
                    return True
            except urllib.error.HTTPError:
                return True  # it answers: started
            except OSError:
                return False

        wait_for_sync(answers, timeout, what=lambda: f"{self.name} ready:\n{self.log_tail()}")
        return self

    def kill(self) -> None:
        """kill -9: no shutdown, no commit, no flush.

        ``proc`` is cleared first: ``WorkerPool.check_alive`` runs concurrently (another fault's
        recovery wait) and must not take the worker we are killing for one that died."""
        proc, self.proc = self.proc, None
        if proc is not None:
            stop(proc, timeout=0.0, sig=signal.SIGKILL)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (Faust commits and leaves the group), SIGKILL after ``timeout``."""
        proc, self.proc = self.proc, None  # cleared first, as in kill()
        if proc is None:
            return None
        return stop(proc, timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class WorkerPool:
    """The workers of one test; ``close()`` stops every one still running."""

    settings: Settings
    log_dir: Path
    workers: list[WorkerProc] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # extra OPPBUS_* for every worker

    def add(self) -> WorkerProc:
        index = len(self.workers) + 1
        log = self.log_dir / f"worker{index}.log"
        worker = WorkerProc(f"worker{index}", self.settings, log, env=dict(self.env))
        self.workers.append(worker)
        return worker.start().wait_ready()

    def running(self) -> list[WorkerProc]:
        return [w for w in self.workers if w.running()]

    def check_alive(self) -> None:
        """Fail with the worker's log when one that should run has exited on its own."""
        for worker in self.workers:
            if worker.proc is not None and worker.proc.poll() is not None:
                raise AssertionError(
                    f"{worker.name} exited with {worker.proc.returncode}:\n{worker.log_tail()}"
                )

    def complaints(self, lines: int = 40) -> str:
        """The last warnings and errors of every worker's log, for a failure message."""
        found = []
        for worker in self.workers:
            if worker.log_path.exists():
                text = worker.log_path.read_text(errors="replace")
                found += [
                    f"{worker.name}: {line}"
                    for line in text.splitlines()
                    if "[WARNING]" in line or "[ERROR]" in line
                ]
        return "\n".join(found[-lines:])

    def close(self) -> list[int]:
        """Stop every worker; return the pids that were started, for orphan checks."""
        pids = [w.pid for w in self.workers if w.pid is not None]
        for worker in self.workers:
            if worker.running():
                worker.stop(timeout=10.0)
            elif worker.proc is not None:
                worker.proc.wait(timeout=5)
                worker.proc = None
        return pids


@dataclass
class ApiProc:
    """One ``oppbus api`` subprocess with the test's settings and extra ``OPPBUS_*`` env."""

    settings: Settings
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ApiProc:
        self.port = child_port()
        argv = [sys.executable, "-m", "ops.cli", "api", "--broker", self.settings.broker_url]
        argv += ["--http-port", str(self.port), "--partitions", str(self.settings.partitions)]
        argv += ["--log-level", "warning"]
        env = {**worker_env(self.settings, child_port()), **self.env}
        proc = self.proc = spawn(argv, log=self.log_path, env=env)

        def healthy() -> bool:
            if proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise AssertionError(f"oppbus api exited early:\n{tail}")
            try:
                with urllib.request.urlopen(self.url + "/livez", timeout=1) as resp:
                    return bool(resp.status == 200)
            except OSError:
                return False

        wait_for_sync(healthy, timeout, every=0.2, what="oppbus api live")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=10.0)
            self.proc = None
