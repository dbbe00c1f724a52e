"""The Faust application: built by a factory from Settings, never at import time.

Every setting below is chosen for the embedded broker (Tansu) and measured
(``docs/upstream/faust-throughput.md`` and the reports beside it; rows in ``README.md`` here):

- ``processing_guarantee="at_least_once"``: Tansu has no transactions (``InitProducerId`` fails),
  so exactly-once cannot run; processing is idempotent instead (stable ids, replayed events).
- ``broker_session_timeout``: Tansu notices a departed member only after the session timeout and a
  group join waits about half of it, so it is short (``Settings.session_timeout_s``, default 10 s);
  heartbeats at a sixth of it; rebalances may take as long as a session.
- ``broker_commit_interval=1.0``: offsets are committed every second (default 2.8 s), so fewer
  inputs are re-processed after a crash; the commit also flushes the producer first.
- fetch wait (``Settings.fetch_wait_ms``, default 10 ms): Faust hard-codes aiokafka's
  ``fetch_max_wait_ms=1500``, and Tansu 0.6 answers a fetch that finds no data only after the
  whole wait (a record arriving meanwhile does not wake it), so an event could wait up to 1.5 s
  before the worker saw it (measured publish->offer p50 ~2 s).
  ``OppbusApp`` sets the wait on the consumer Faust creates; idle fetches cost a request each.
- raw key/value serializers: the one orjson codec is applied by our own code, once per event.
- producer ``linger`` 1 ms at the default fetch wait (``Settings.producer_linger_ms``: a tenth of
  the wait) and 256 KiB batches, ``acks=-1``. aiokafka keeps one produce request in flight per
  broker, so under load records batch up behind it whatever the linger; at a low rate the linger
  is pure delay, paid twice per routed event (its table row, then its offer). A bus set for a
  sustained load on the embedded broker (a longer wait) lingers longer: fewer batches stored.
  Measured (``oppbus bench pipeline``, same runs): 1 ms instead of 5 ms took publish->offer at
  500/s from p50 49 / p99 208 ms to 32 / 118 ms with no loss of throughput (the +22 % of a 20 ms
  linger in ``docs/upstream/faust-throughput.md`` was with per-message sends, before batches).
- ``store="memory://"``: tables are rebuilt from their changelog topics when a worker starts
  (one standby replica, the default, keeps a warm copy on another worker).
- flow control (``streams.runtime.flow_control``): resuming a running flow no longer clears the stream
  queues (Faust's table recovery resumed it twice and dropped what it had fetched in between).
- message delivery (``streams.runtime.delivery.EagerDelivery`` on the consumer): Faust races every
  delivery against a rebalance with four asyncio tasks; we run it eagerly and race only a delivery
  that actually waits (same rebalance abort path; exact versions checked at start: ``pins``).
- table recovery reads each changelog up to its *real* end (``streams.runtime.end_offsets``): Tansu's
  ListOffsets answers an end below the last record batch, so Faust's own highwaters made a new
  owner stop before the last rows and its consistency check crash the worker on a rebalance.
- every ``WATCHDOG_INTERVAL_S`` one timer (``streams.runtime.watchdogs``) gives back to the fetcher an input partition that Faust's
  back-pressure left out after its streams drained (``streams.runtime.stranded``, with a warning), and a
  worker that is its group's only member takes back, by joining again, input partitions the
  broker left with a member that is gone (``streams.runtime.lone_member``, with a warning), and an input
  partition whose consumer moved past records its stream never got is read again from the first
  of them (``streams.runtime.undelivered``, with a warning).
- ``stream_processing_timeout`` and ``broker_commit_livelock_soft_timeout`` (``STALL_REPORT_S``,
  60 s, Faust's default 300 s): Faust logs an error naming an assigned partition that has records
  to read but was not fetched, processed or committed for that long - a stalled partition shows
  in the worker's log within a minute instead of five.
- Agent concurrency is 1 everywhere (faust-streaming issue 606), set where agents are declared.
- ``datadir``: Faust makes ``<datadir>/v1/tables`` when a worker starts, by default in the current
  directory (``<app id>-data``). Memory tables write nothing there, so it goes under ``--data``
  in durable mode and under the system temp directory otherwise: never into the user's cwd.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as aiokafka_driver
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from schemas.topics import TOPICS
from streams.runtime.commit_guard import CommitGuard
from streams.runtime.delivery import EagerDelivery
from streams.runtime.end_offsets import end_offsets
from streams.runtime.flow_control import FlowControl
from streams.runtime.pins import check_pins
from streams.runtime.table_manager import PromptTableManager
from streams.runtime.watchdogs import install_watchdogs
from streams.settings import Settings

__all__ = ["OppbusApp", "create_app", "next_fetch_at"]

STALL_REPORT_S = 60.0  # Faust logs an error on a partition not fetched/processed/committed so long


def next_fetch_at(started: float, count: int, limit: int | None, wait_s: float) -> float:
    """When the next fetch may go, after one that began at ``started`` and returned ``count``
    records of at most ``limit``: a fetch wait later, or at once (0.0) after an empty fetch (it
    already waited) or a full one (more is waiting)."""
    if count == 0 or (limit is not None and count >= limit):
        return 0.0
    return started + wait_s


class _ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    fetch_wait_ms: int = 10
    _next_fetch: float = 0.0

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when the consumer starts (it builds its Fetcher then).
        consumer._fetch_max_wait_ms = self.fetch_wait_ms
        return consumer

    async def getmany(self, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        """Faust's fetch, at most once per fetch wait while records flow (row "paced fetching").

        Under a steady flow every fetch finds a new record and is answered at once, so Faust's
        fetcher would fetch as fast as the broker answers, and on the embedded broker each fetch
        lists every stored batch of each partition with new data. After a fetch that returned
        records (but not a full ``max_poll_records``) the next waits until a fetch wait has passed
        since this one began: a record still waits at most about the fetch wait.
        """
        loop = asyncio.get_running_loop()
        delay = self._next_fetch - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        started = loop.time()
        records = await super().getmany(active_partitions, timeout)
        count = sum(len(batch) for batch in records.values())
        limit = getattr(self._ensure_consumer(), "_max_poll_records", None)
        self._next_fetch = next_fetch_at(started, count, limit, self.fetch_wait_ms / 1000)
        return records

    async def committed_offsets(self, partitions: list[Any]) -> dict[Any, int | None]:
        """The group's committed offsets of ``partitions`` (None: none), one OffsetFetch."""
        return await self.call_thread(self._committed_offsets, partitions)  # type: ignore[no-any-return]

    async def _committed_offsets(self, partitions: list[Any]) -> dict[Any, int | None]:
        wanted = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
        coordinator = self._ensure_consumer()._coordinator
        answer = await coordinator.fetch_committed_offsets(list(wanted))
        return {
            tp: answer[key].offset if key in answer and answer[key].offset >= 0 else None
            for key, tp in wanted.items()
        }

    async def _highwaters(self, partitions: list[Any]) -> Any:
        """The end offsets table recovery reads up to (``Recovery._build_highwaters``).

        Faust 0.15.3 (pinned) asks aiokafka ``end_offsets`` (ListOffsets), which Tansu answers
        short; ``streams.runtime.end_offsets`` confirms it with a fetch's high watermark. The transactional
        path (last stable offset) is Faust's own: there are no transactions on Tansu.
        """
        if self.consumer.in_transaction:
            return await super()._highwaters(partitions)
        return await end_offsets(self._ensure_consumer(), partitions)


class _Consumer(EagerDelivery, CommitGuard, aiokafka_driver.Consumer):
    """Faust's aiokafka consumer, committing only what was processed (``streams.runtime.commit_guard``),
    delivering without a race per message when nothing waits (``streams.runtime.delivery``)."""

    _thread: _ConsumerThread

    async def committed_offsets(self, tps: list[Any]) -> dict[Any, int | None]:
        """The group's committed offsets of ``tps`` (None: none), one OffsetFetch."""
        return await self._thread.committed_offsets(tps)

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        thread = _ConsumerThread(self, loop=self.loop, beacon=self.beacon)
        thread.fetch_wait_ms = getattr(self.app, "fetch_wait_ms", _ConsumerThread.fetch_wait_ms)
        return thread


class _Transport(aiokafka_driver.Transport):
    Consumer = _Consumer


class OppbusApp(faust.App):
    """``faust.App`` whose Kafka consumer uses our fetch wait instead of Faust's fixed 1.5 s and
    recovers tables up to the real end of their changelogs (``_ConsumerThread._highwaters``), and
    whose flow control does not drop what the streams hold on a second resume (``flow_control``)."""

    fetch_wait_ms: int = 10
    gapless_topics: frozenset[str] = frozenset()  # see streams.runtime.commit_guard

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        """Flow control whose resume keeps what the streams were handed (``streams.runtime.flow_control``)."""
        return FlowControl(loop=self.loop)


def _credentials(settings: Settings) -> faust.SASLCredentials | None:
    """The worker's SASL/SCRAM login on a Kafka with ACLs (docs/security.md), if configured."""
    options = settings.kafka_client_options()
    if not options:
        return None
    return faust.SASLCredentials(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        mechanism=options["sasl_mechanism"],
    )


def create_app(settings: Settings, *, app_id: str | None = None, web: bool = False) -> faust.App:
    """A configured Faust app with no agents; bounded contexts register theirs on it."""
    check_pins()  # the adaptations reach into upstream internals: exact versions only
    settings.install_data_keys()  # customers and secrets encrypted on the log
    session = settings.session_timeout_s
    app_id = app_id or settings.app_id
    app = OppbusApp(
        app_id,
        datadir=str(_datadir(settings, app_id)),
        broker=settings.broker_url,
        broker_credentials=_credentials(settings),
        store="memory://",
        autodiscover=False,
        TableManager=PromptTableManager,  # no 1 s nap at start: tables are all declared
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session,
        broker_heartbeat_interval=max(0.5, session / 6),
        broker_rebalance_timeout=session,
        broker_commit_interval=1.0,
        stream_processing_timeout=STALL_REPORT_S,
        broker_commit_livelock_soft_timeout=STALL_REPORT_S,
        producer_acks=-1,
        producer_linger=settings.producer_linger_ms / 1000,
        producer_max_batch_size=262_144,
        web_enabled=web,
        web_host=settings.http_host,
        web_port=settings.resolved_worker_web_port,
    )
    app.fetch_wait_ms = settings.fetch_wait_ms
    # Offsets of delete-cleanup topics have no holes (no transactions): see streams.runtime.commit_guard.
    app.gapless_topics = frozenset(
        settings.topic(spec.name) for spec in TOPICS if spec.cleanup == "delete"
    )
    install_watchdogs(app, settings.bootstrap_servers, app_id, settings.kafka_client_options())
    return app


def _datadir(settings: Settings, app_id: str) -> Path:
    if settings.data_dir is not None:
        return settings.data_dir / f"{app_id}-data"
    return Path(tempfile.gettempdir()) / f"oppbus-{app_id}-data"
