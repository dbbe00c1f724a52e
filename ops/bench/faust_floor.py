"""The floor of ``oppbus bench pipeline``: a bare Faust pass-through with the worker's own settings.

The raw baseline (:mod:`ops.bench.passthrough`) moves records with aiokafka alone. This moves the
same records through one Faust agent configured exactly like the router's worker
(:func:`streams.runtime.app.create_app`: raw serializers, linger, fetch wait, eager delivery) and shaped
like it (``take_events`` batches, bytes handed to ``app.producer.send``), doing the raw loop's
transform (one ``orjson`` parse and dump, a field set in between) and nothing else. What Faust
costs per record is the difference between the two; what routing costs is the difference between
this and the routed rate, all measured in the same run on the same broker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson

from ops.bench.passthrough import PassThrough
from streams.settings import Settings

__all__ = ["run_faust_passthrough"]


async def run_faust_passthrough(
    settings: Settings,
    source: str,
    sink: str,
    expected: int,
    *,
    limit_s: float = 120.0,
    assigned: asyncio.Event | None = None,
) -> PassThrough:
    """Move ``expected`` records from ``source`` to ``sink`` through a Faust agent of an app built
    by ``create_app(settings)``; time from its first batch until the last record is flushed.

    ``assigned`` is set once the app's consumer has its partitions (for a latency run)."""
    import faust

    from streams.runtime import create_app

    app = create_app(settings)
    topic = app.topic(source, key_serializer="raw", value_serializer="raw")
    moved = 0
    started: float | None = None
    done = asyncio.Event()
    failed: list[BaseException] = []

    async def forward(stream: faust.StreamT[Any]) -> None:
        nonlocal moved, started
        send = app.producer.send
        assert isinstance(stream, faust.Stream)
        try:
            async for events in stream.take_events(2000, within=0.005):
                if started is None:
                    started = time.perf_counter()
                for event in events:
                    m = event.message
                    data = orjson.loads(m.value or b"{}")
                    data["routed"] = True
                    # Faust hands the headers as a tuple; aiokafka wants a list
                    headers: Any = list(m.headers or ())
                    await send(sink, m.key, orjson.dumps(data), None, None, headers)
                moved += len(events)
                if moved >= expected:
                    done.set()
        except Exception as exc:  # end the run at once instead of waiting for the limit
            failed.append(exc)
            done.set()
            raise

    app.agent(topic, name=f"{settings.app_id}.floor", concurrency=1, sink=None)(forward)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def on_assigned(app: Any, assigned_tps: Any, **kwargs: Any) -> None:
        if assigned is not None and assigned_tps:
            assigned.set()

    await app.start()
    logging.getLogger().setLevel(logging.WARNING)  # back from DEBUG, as in the worker
    try:
        await asyncio.wait_for(done.wait(), limit_s)
        if failed:
            raise RuntimeError(f"the Faust pass-through failed: {failed[0]!r}") from failed[0]
        await app.producer.flush()
        seconds = time.perf_counter() - (started or time.perf_counter())
    finally:
        await app.stop()
    return PassThrough(moved, seconds)
