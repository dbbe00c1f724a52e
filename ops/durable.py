"""Durable embedded mode (``--data DIR``): Tansu on the s3:// engine against a local S3 server."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from ops.broker import BrokerError, EmbeddedBroker
from ops.settings import Settings

__all__ = ["start_durable_broker"]


def start_durable_broker(settings: Settings, run_dir: Path, stack: ExitStack) -> EmbeddedBroker:
    del settings, run_dir, stack
    raise BrokerError(
        "durable mode (--data) is not available in this build yet; run without --data"
    )
