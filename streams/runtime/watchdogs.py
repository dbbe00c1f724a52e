"""The partition watchdogs of a worker, run by one timer: stranded, lone member, undelivered.

Each closes a measured hole in how Faust 0.15.3 and the embedded broker (Tansu 0.6) keep a
worker's input partitions flowing (rows in ``streams/runtime/README.md``):

- ``stranded``: an input partition Faust's back-pressure left out of fetching after its stream
  drained is given back to the fetcher;
- ``lone_member``: a worker that is its group's only member but lacks input partitions (Tansu
  left them with a member that is gone) joins again as a new member;
- ``undelivered``: an input partition whose consumer moved past records its stream never got is
  read again from the first of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust

from streams.runtime.lone_member import LoneMemberWatch
from streams.runtime.stranded import StrandWatch
from streams.runtime.undelivered import UndeliveredWatch

__all__ = ["WATCHDOG_INTERVAL_S", "install_watchdogs"]

WATCHDOG_INTERVAL_S = 5.0  # how often a worker checks that its input partitions flow


def install_watchdogs(
    app: faust.App,
    bootstrap_servers: str,
    app_id: str,
    client_options: Mapping[str, Any] | None = None,
) -> None:
    """Run the three partition watchdogs of ``app`` every ``WATCHDOG_INTERVAL_S``."""
    stranded = StrandWatch(app)
    lone = LoneMemberWatch(app, bootstrap_servers, client_options)
    undelivered = UndeliveredWatch(app)

    async def watch_partitions() -> None:
        stranded.check()
        await lone.check()
        await undelivered.check()

    app.timer(interval=WATCHDOG_INTERVAL_S, name=f"{app_id}.partition-watchdogs")(watch_partitions)
