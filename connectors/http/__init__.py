"""The oppbus HTTP API (aiohttp)."""
