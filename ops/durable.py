"""Durable embedded mode (``--data DIR``): Tansu on its ``s3://`` engine against a local S3 server.

Layout of DIR (all of it belongs to oppbus; nothing is written elsewhere):

- ``s3/``      the SeaweedFS server (``ops.local_s3.LocalS3``): its data, identity file and ports;
- ``logs/``    the logs of every child of ``oppbus up`` (``s3.log``, ``broker.log``, ...);
- ``.lock``    held while a bus runs on DIR, so two buses never write the same storage.

Start order: lock → S3 server (ready when a signed request on the bucket succeeds) → Tansu with
``--storage-engine s3://BUCKET/``. Stop order is the reverse, each step SIGTERM then SIGKILL on hang,
and every child is bound to our lifetime (``ops.procs``): no orphan even when oppbus is killed.
Every message Tansu acknowledges is an object in the S3 bucket, so it survives a restart of the
broker, of the S3 server, or of ``oppbus up`` as a whole.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from ops.broker import BrokerError, EmbeddedBroker
from ops.local_s3 import LocalS3, LocalS3Error
from streams.settings import Settings

__all__ = ["BUCKET", "DurableBroker", "start_durable_broker"]

BUCKET = "oppbus"


@dataclass
class DurableBroker:
    """Tansu on a local SeaweedFS S3 server, both kept in ``data_dir``."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    log_dir: Path | None = None
    broker_timeout: float = 20.0
    s3: LocalS3 = field(init=False)
    broker: EmbeddedBroker = field(init=False)
    _lock: IO[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.expanduser().resolve()
        logs = self.log_dir or self.data_dir / "logs"
        self.s3 = LocalS3(root=self.data_dir / "s3", bucket=BUCKET, log_path=logs / "s3.log")
        self.broker = EmbeddedBroker(
            host=self.host,
            port=self.port,
            log_path=logs / "broker.log",
            storage_url=f"s3://{BUCKET}/",
            start_timeout=self.broker_timeout,
        )

    @property
    def url(self) -> str:
        return self.broker.url

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def start(self) -> DurableBroker:
        self._acquire_lock()
        try:
            self.s3.start()
            self.start_broker()
        except (LocalS3Error, BrokerError) as exc:
            self.stop()
            raise BrokerError(str(exc)) from exc
        return self

    def start_broker(self) -> EmbeddedBroker:
        """(Re)start only the broker, e.g. after :meth:`kill_broker` in a fault test."""
        self.broker.storage_env = self.s3.client_env()
        return self.broker.start()

    def kill_broker(self) -> None:
        """SIGKILL the broker, keep S3 (and so every acknowledged message) running."""
        self.broker.kill()

    def stop(self) -> None:
        """Broker first (SIGTERM, then kill), then the S3 server, then release DIR."""
        try:
            self.broker.stop()
        finally:
            try:
                self.s3.stop()
            finally:
                self._release_lock()

    def _acquire_lock(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.data_dir / ".lock", "ab")  # closed in _release_lock
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.close()
            raise BrokerError(
                f"data directory {self.data_dir} is in use by another oppbus; stop it first "
                "or choose another --data"
            ) from exc
        lock.truncate(0)
        lock.write(str(os.getpid()).encode())
        lock.flush()
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> DurableBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_durable_broker(settings: Settings, run_dir: Path, stack: ExitStack) -> EmbeddedBroker:
    """Start the durable embedded broker for ``oppbus up --data DIR``; ``stack`` stops it."""
    assert settings.data_dir is not None
    durable = DurableBroker(
        data_dir=settings.data_dir,
        host=settings.broker_host,
        port=settings.broker_port,
        log_dir=run_dir,
    )
    durable.start()
    stack.callback(durable.stop)
    return durable.broker
