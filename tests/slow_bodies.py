"""Slow-body clients: connections that announce a large body and send one byte of it."""

from __future__ import annotations

import asyncio

__all__ = ["slow_bodies"]


async def slow_bodies(
    port: int, path: str, count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``count`` connections to ``path`` that announce 100 000 bytes of JSON and send one."""
    conns = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n[".encode()
        )
        await writer.drain()
        conns.append((reader, writer))
    return conns
