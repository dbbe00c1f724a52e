"""The security tests use the API contract tests' harness: the real app on the session broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from ops.api import build_api_app
from streams.settings import Settings
from tests.integration.api.conftest import ADMIN_TOKEN, Harness, api

__all__ = ["api", "harness_with"]


async def harness_with(settings: Settings, **update: object) -> AsyncIterator[Harness]:
    """The API app with ``update`` applied to its settings (limits under test)."""
    configured = settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN), **update})
    client = TestClient(TestServer(build_api_app(configured)))
    await client.start_server()
    harness = Harness(client, configured)
    try:
        yield harness
    finally:
        await harness.close()
        await client.close()
