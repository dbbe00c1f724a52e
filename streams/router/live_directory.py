"""The partner directory of every routing worker, rebuilt from the ``partners`` topic at start.

Each worker folds the whole compacted ``partners`` topic (a registration on the worker's
``SharedFollower``: every partition, no consumer group) into the routing core's
``PartnerDirectory``, which applies last-writer-wins by profile version and ignores stale updates.
Records that are not valid partner events are counted and logged with their origin; they cannot
be dead-lettered from here, because every worker reads them (the HTTP API validates profiles
before publishing). A record without the bus's MAC (streams/record_auth.py) is never applied; the
worker's gatekeeper dead-letters it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import faust

from schemas.codec import Envelope
from schemas.partner import PartnerProfile
from streams.event_sink import EventSink, Followed
from streams.routing.directory import PartnerDirectory
from streams.runtime import SharedFollower
from streams.settings import Settings

__all__ = ["DirectoryView", "run_view"]

log = logging.getLogger(__name__)


class DirectoryView:
    """``directory`` stays current with the ``partners`` topic once ``view.caught_up`` is set."""

    def __init__(self, settings: Settings, follower: SharedFollower) -> None:
        self.directory = PartnerDirectory()
        self.applied = 0
        self.on_change: Callable[[], object] | None = None  # called after each applied profile
        self.stale = 0
        self._other = 0
        # a forged record is never applied; the gatekeeper dead-letters it (once)
        self.sink = EventSink(settings, ["partners"], self._apply, log=log)
        self.view = follower.follow(self.sink.full_topics, self.sink, name="partner-directory")

    @property
    def unauthenticated(self) -> int:
        return self.sink.unauthenticated

    @property
    def invalid(self) -> int:
        """Records with the bus's MAC that are not a valid partner profile."""
        return self.sink.skipped - self.sink.unauthenticated + self._other

    def _apply(self, envelope: Envelope, origin: Followed) -> None:
        event = envelope.event
        if not isinstance(event, PartnerProfile):
            self._other += 1
            log.warning("ignored %s at %s: not a PartnerProfile", type(event).__name__, origin)
            return
        if self.directory.apply(event):
            self.applied += 1
            if self.on_change is not None:
                self.on_change()
        else:
            self.stale += 1


async def run_view(app: faust.App, view: SharedFollower) -> None:
    """Run views for the app's lifetime; a view that fails stops the worker (never half-loaded)."""
    try:
        await view.run()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("%s failed: %r", view.name, exc)
        await app.crash(exc)
