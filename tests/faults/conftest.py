"""Fixtures of the fault-injection suite: a worker pool per test, the figures it reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.faults.procs import WorkerPool, alive


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[WorkerPool]:
    """``oppbus worker`` subprocesses of this test; none survives it (checked)."""
    pool = WorkerPool(settings, tmp_path)
    try:
        yield pool
    finally:
        pids = pool.close()
        assert not [pid for pid in pids if alive(pid)], "a worker outlived its test"
