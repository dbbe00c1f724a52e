"""Requests aiohttp cannot parse get the API's JSON error body, echoing none of their bytes.

Before, an oversize header came back as ``text/plain`` quoting the header value (and the value was
logged with a traceback). The API is served by :class:`connectors.http.serve.ApiRunner`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from connectors.http.serve import ApiRunner

SECRET = b"S3CR3T-" * 1500  # > 8190 bytes: aiohttp's header line limit


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async def root(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", root)
    runner = ApiRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _raw(port: int, data: bytes) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Leak: " + SECRET + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-" + SECRET + b": v\r\n\r\n",
        b"GET /" + SECRET + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /S3CR3T\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"S3CR3T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header S3CR3T\r\n\r\n",
    ],
)
async def test_unparsable_requests_get_json_without_echo(
    port: int, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    head, body = await _raw(port, request_bytes)
    assert head.split(b" ")[1] in (b"400", b"413", b"431"), head
    assert b"Content-Type: application/json" in head
    parsed = orjson.loads(body)
    assert set(parsed) == {"error", "message", "errors"}
    assert b"S3CR3T" not in head + body
    assert "S3CR3T" not in caplog.text


async def test_well_formed_requests_are_served(port: int) -> None:
    head, body = await _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and orjson.loads(body) == {"ok": True}
