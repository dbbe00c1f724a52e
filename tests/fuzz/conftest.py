"""The fuzz tests drive real workers with the fault suite's harness."""

from __future__ import annotations

from tests.faults.conftest import workers

__all__ = ["workers"]
