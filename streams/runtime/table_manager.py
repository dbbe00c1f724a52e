"""Faust's table manager without the one-second nap before it registers the tables.

Faust 0.15.3 (pinned) ``TableManager.on_start`` sleeps 1.0 s so that tables declared after the
app started still get registered before the consumer subscribes. Every table of this bus is
declared before the worker starts (``autodiscover=False``, the explicit ``streams.wiring``), so
the nap is only a second added to every worker start before it may join its group (measured:
the group join began 1.0 s after "Waiting for tables to be registered").
"""

from __future__ import annotations

from faust.tables.manager import TableManager

__all__ = ["PromptTableManager"]


class PromptTableManager(TableManager):
    """``TableManager`` whose start registers the tables at once."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
