"""Worker start-up adaptations: producer warm-up, GC freeze, uvloop and the root log level.

Each is a measured fix of how faust-streaming 0.15.3 / mode / aiokafka start a worker (rows in
``streams/runtime/README.md``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterable
from typing import Any

import faust

__all__ = ["freeze_start_up_objects", "quiet_root_logger", "use_uvloop", "warm_producer"]


async def warm_producer(app: faust.App, topics: Iterable[str]) -> None:
    """Load the producer's metadata of every topic the worker may write to, before routing.

    aiokafka looks a topic's partitions up on its first send to it, one metadata round trip per
    topic, in the middle of a batch: the first ~140 opportunities after a start waited ~100 ms
    (the p99 of ``oppbus bench pipeline``'s latency run). Faust 0.15.3's aiokafka producer
    (``_ensure_producer``) has no public way to ask, hence the private call. ``topics``: the
    bus topics; the changelog topics of the app's tables are added here.
    """
    names = set(topics)
    names |= {table.changelog_topic.get_topic_name() for table in app.tables.values()}
    producer: Any = app.producer
    client = producer._ensure_producer()
    await asyncio.gather(*(client.partitions_for(name) for name in sorted(names)))


def freeze_start_up_objects() -> None:
    """Leave what start-up built (Faust, aiokafka, pydantic, the loaded directory) out of the
    garbage collector's full passes (``gc.freeze``): those passes walked all of it and stopped
    the worker's one event loop for ~65 ms, the worst publish->offer latencies of
    ``oppbus bench pipeline`` (13 ms with it). Idempotent; objects still die
    by reference counting."""
    gc.collect()
    gc.freeze()


def quiet_root_logger(app: faust.App, level: str) -> None:
    """Set the root logger back to ``level`` once the worker has started.

    With a level of WARNING or above, Faust's worker start-up (its spinner handler) leaves the
    root logger at DEBUG, so every log.debug in faust and aiokafka builds a record (~17 %
    throughput, ``docs/upstream/faust-spinner-root-logger.md``). App tasks run after that
    start-up: set it back there.
    """

    async def _quiet_root() -> None:
        logging.getLogger().setLevel(level.upper())

    app.task(_quiet_root)


def use_uvloop() -> None:
    """Run the worker on uvloop (+7-14 %, ``docs/upstream/faust-throughput.md``) if installed.

    Faust picks its loop from ``FAUST_LOOP`` only when ``faust`` is first imported, which is too
    early for us; the worker (mode) takes the current event loop, so we set that instead.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return
    asyncio.set_event_loop(uvloop.new_event_loop())
