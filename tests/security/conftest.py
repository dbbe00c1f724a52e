"""The security tests use the API contract tests' harness: the real app on the session broker."""

from __future__ import annotations

from tests.integration.api.conftest import api, harness_with

__all__ = ["api", "harness_with"]
