"""The explicit list of bounded contexts whose agents, tables and timers run in a worker."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from connectors.webhooks.service import register_webhooks
from ops.settings import Settings
from streams.directory import DirectoryView, GlobalView, run_view
from streams.router.agent import RouterAgent, register_router
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.ranking import make_ranker
from streams.scorecards.agents import Scorecards, register_scorecards
from streams.scorecards.view import ScorecardBook
from streams.topics import TOPICS

__all__ = ["Contexts", "register_all"]


@dataclass(frozen=True)
class Contexts:
    """What ``register_all`` put on the app (tests and benches look inside)."""

    directory: DirectoryView
    claims: ClaimRegistry
    stats: ScorecardBook
    router: RouterAgent
    scorecards: Scorecards


def _run_with_app(app: faust.App, view: GlobalView) -> None:
    async def follow() -> None:
        await run_view(app, view)

    follow.__name__ = f"follow_{view.name.replace('-', '_')}"
    app.task(follow)


async def _know_output_topics(app: faust.App, settings: Settings) -> None:
    """Load the producer's metadata of every topic the worker may write to, before routing.

    aiokafka looks a topic's partitions up on its first send to it, one metadata round trip per
    topic, in the middle of a batch: the first ~140 opportunities after a start waited ~100 ms
    (the p99 of ``oppbus bench pipeline``'s latency run). Faust 0.15.3's aiokafka producer
    (``_ensure_producer``) has no public way to ask, hence the private call.
    """
    names = {settings.topic(spec.name) for spec in TOPICS}
    names |= {table.changelog_topic.get_topic_name() for table in app.tables.values()}
    producer: Any = app.producer
    client = producer._ensure_producer()
    await asyncio.gather(*(client.partitions_for(name) for name in sorted(names)))


def _freeze_start_up_objects() -> None:
    """Leave what start-up built (Faust, aiokafka, pydantic, the loaded directory) out of the
    garbage collector's full passes (``gc.freeze``): those passes walked all of it and stopped
    the worker's one event loop for ~65 ms, the worst publish->offer latencies of
    ``oppbus bench pipeline`` (13 ms with it, README). Idempotent; objects still die by
    reference counting."""
    gc.collect()
    gc.freeze()


def register_all(
    app: faust.App, settings: Settings, registry: CollectorRegistry | None = None
) -> Contexts:
    """Register every bounded context on ``app`` (the explicit autodiscover list).

    ``registry``: the worker's metrics registry (served at the worker's ``/metrics``), if any.
    """
    directory = DirectoryView(settings)
    claims = ClaimRegistry(settings.conflict_window_s)
    claims_view = GlobalView(
        settings.bootstrap_servers,
        settings.topic("customer-claims"),
        claims.apply_record,
        name="customer-claims",
    )
    stats = ScorecardBook()  # load, rates and reciprocity for ranking, from partner-stats
    stats_view = GlobalView(
        settings.bootstrap_servers,
        settings.topic("partner-stats"),
        stats,
        name="partner-stats",
    )
    views = (directory.view, claims_view, stats_view)
    for view in views:
        _run_with_app(app, view)

    async def ready() -> None:
        for view in views:
            await view.wait_ready()
        await _know_output_topics(app, settings)
        _freeze_start_up_objects()

    router = Router(
        make_ranker(lambda: directory.directory, lambda: stats),
        claims,
        ttl_s=settings.offer_ttl_s,
        closed_retention_s=settings.closed_retention_s,
    )
    agent = register_router(app, settings, router, ready)
    scorecards = register_scorecards(app, settings)  # ledger -> per-partner figures
    register_webhooks(app, settings, registry)  # outbound webhooks: own consumer group on referrals
    return Contexts(directory, claims, stats, agent, scorecards)
