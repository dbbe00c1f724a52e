"""Serving the API app: aiohttp's server with JSON errors for requests it cannot even parse.

aiohttp answers a request line or header it refuses (too long, invalid characters, not HTTP)
before any middleware runs, as ``text/plain`` that quotes the offending bytes — a header value
echoed back, and logged with a traceback. :class:`ApiRunner` serves the app with a request
handler whose errors are the API's JSON body with a fixed message per status, echoing nothing and
logging one line without the request's bytes. :func:`serve` runs it until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

__all__ = ["ApiRunner", "serve"]

log = logging.getLogger("oppbus.api")

_MESSAGES = {
    400: ("bad_request", "malformed HTTP request (request line or headers)"),
    413: ("payload_too_large", "request too large"),
    431: ("headers_too_large", "request headers too large"),
    500: ("internal_error", "internal error"),
}


class _JsonErrorHandler(RequestHandler):
    """The connection protocol of the API: protocol-level errors as JSON, nothing echoed."""

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        del message  # aiohttp's text quotes the request's bytes: never sent, never logged
        log.info(
            "refused an unparsable request from %s: %d %s",
            request.remote,
            status,
            type(exc).__name__,
        )
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        code, text = _MESSAGES.get(status, ("error", "the request was refused"))
        body = orjson.dumps({"error": code, "message": text, "errors": []})
        resp = web.Response(status=status, body=body, content_type="application/json")
        resp.force_close()
        return resp


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer protocol errors as JSON (see the module)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp has no parameter for the handler class: the server built for the app is the
        # same object with the one method that creates connection handlers overridden.
        server.__class__ = _JsonErrorServer
        return server


async def _serve(app: web.Application, host: str, port: int, shutdown_timeout: float) -> None:
    runner = ApiRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(app: web.Application, host: str, port: int, *, shutdown_timeout: float = 5.0) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM."""
    asyncio.run(_serve(app, host, port, shutdown_timeout))
