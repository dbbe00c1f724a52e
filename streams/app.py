"""The Faust application: built by a factory from Settings, never at import time.

Settings chosen for the embedded broker (see shared notes on Faust throughput):
- ``processing_guarantee="at_least_once"``: Tansu has no transactions, so exactly-once cannot run;
  processing is idempotent instead.
- ``broker_session_timeout``: Tansu notices a departed member only after the session timeout and a
  group join waits about half of it, so it is short (Settings.session_timeout_s, default 10 s).
- raw key/value serializers: the one orjson codec is applied by our own code, once per event.
- ``store="memory://"``: tables are rebuilt from their changelog topics when a worker starts.
"""

from __future__ import annotations

import faust

from ops.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, *, app_id: str | None = None, web: bool = False) -> faust.App:
    """A configured Faust app with no agents; bounded contexts register theirs on it."""
    session = settings.session_timeout_s
    return faust.App(
        app_id or settings.app_id,
        broker=settings.broker_url,
        store="memory://",
        autodiscover=False,
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session,
        broker_heartbeat_interval=max(0.5, session / 6),
        broker_rebalance_timeout=session,
        producer_acks=-1,
        producer_linger=0.005,
        producer_max_batch_size=262_144,
        web_enabled=web,
        web_host=settings.http_host,
        web_port=settings.resolved_worker_web_port,
    )
