"""The partner directory of every routing worker, rebuilt from the ``partners`` topic at start.

Each worker folds the whole compacted ``partners`` topic (a ``TopicFollower``: every partition, no
consumer group) into the routing core's ``PartnerDirectory``, which applies last-writer-wins by
profile version and ignores stale updates. Records that are not valid partner events are counted
and logged with their origin; they cannot be dead-lettered from here, because every worker reads
them (the HTTP API validates profiles before publishing). A record without the bus's MAC
(streams/record_auth.py) is never applied; the worker's gatekeeper dead-letters it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import faust

from schemas.errors import InvalidEvent
from schemas.partner import PartnerProfile
from streams.record_auth import RecordAuth
from streams.router.records import decode_as
from streams.routing.directory import PartnerDirectory
from streams.runtime import TopicFollower
from streams.settings import Settings

__all__ = ["DirectoryView", "run_view"]

log = logging.getLogger(__name__)


class DirectoryView:
    """``directory`` stays current with the ``partners`` topic once ``view.caught_up`` is set."""

    def __init__(self, settings: Settings) -> None:
        self.directory = PartnerDirectory()
        self.applied = 0
        self.on_change: Callable[[], object] | None = None  # called after each applied profile
        self.stale = 0
        self.invalid = 0
        self.unauthenticated = 0
        self._auth = RecordAuth.from_settings(settings)
        self.view = TopicFollower(
            settings.bootstrap_servers,
            [settings.topic("partners")],
            self.apply_record,
            name="partner-directory",
            client_options=settings.kafka_client_options(),
        )

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        if value is None:
            return  # a tombstone: deactivation is an update with active=false
        try:
            self._auth.check(origin[0], key, value, headers)
        except InvalidEvent as exc:  # the gatekeeper dead-letters it (once)
            self.unauthenticated += 1
            log.warning("ignored partner record topic=%s partition=%d offset=%d: %s", *origin, exc)
            return
        event = decode_as(PartnerProfile, value, headers, origin, log)
        if event is None:
            self.invalid += 1
            return
        if self.directory.apply(event):
            self.applied += 1
            if self.on_change is not None:
                self.on_change()
        else:
            self.stale += 1


async def run_view(app: faust.App, view: TopicFollower) -> None:
    """Run a view for the app's lifetime; a view that fails stops the worker (never half-loaded)."""
    try:
        await view.run()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("%s failed: %r", view.name, exc)
        await app.crash(exc)
