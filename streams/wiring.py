"""The explicit list of bounded contexts whose agents, tables and timers run in a worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from schemas.topics import TOPICS
from streams.fees.keeper import FeeKeeper, register_fee_keeper
from streams.gatekeeper import Gatekeeper, register_gatekeeper
from streams.partnerships.live import PartnershipsView
from streams.router.agent import RouterAgent, register_router
from streams.router.claims import ClaimRegistry
from streams.router.handlers import Router
from streams.router.live_directory import DirectoryView, run_view
from streams.router.live_policy import PolicyView
from streams.router.ranker import make_ranker, make_team_planner
from streams.runtime import SharedFollower, freeze_start_up_objects, warm_producer
from streams.scorecards.agents import Scorecards, register_scorecards
from streams.scorecards.view import ScorecardBook
from streams.settings import Settings
from streams.worker_status import register_status

__all__ = ["Contexts", "register_all"]


@dataclass(frozen=True)
class Contexts:
    """What ``register_all`` put on the app (tests and benches look inside)."""

    directory: DirectoryView
    claims: ClaimRegistry
    stats: ScorecardBook
    router: RouterAgent
    scorecards: Scorecards
    policy: PolicyView
    partnerships: PartnershipsView
    fees: FeeKeeper
    gatekeeper: Gatekeeper


def _run_with_app(app: faust.App, follower: SharedFollower) -> None:
    async def follow() -> None:
        await run_view(app, follower)

    follow.__name__ = f"follow_{follower.name.replace('-', '_')}"
    app.task(follow)


def register_all(
    app: faust.App, settings: Settings, registry: CollectorRegistry | None = None
) -> Contexts:
    """Register every bounded context on ``app`` (the explicit autodiscover list).

    ``registry``: the worker's metrics registry (served at the worker's ``/metrics``), if any.
    """
    # one consumer for every whole-topic view of the worker: one fetch per fetch wait when idle
    follower = SharedFollower(
        settings.bootstrap_servers,
        name="worker-views",
        client_id=f"{settings.app_id}-worker-views",
        client_options=settings.kafka_client_options(),
        # while records flow, at most one fetch per the bus's fetch wait, as the router's own
        # consumer: a partner's profile must not reach the directory later than its first
        # opportunity reaches the router (the 100 ms idle wait alone delayed the demo's partner)
        pace_s=settings.fetch_wait_ms / 1000,
    )
    directory = DirectoryView(settings, follower)
    claims = ClaimRegistry(settings.conflict_window_s)
    claims_view = follower.follow(
        [settings.topic("customer-claims")], claims.apply_record, name="customer-claims"
    )
    stats = ScorecardBook()  # load, rates and reciprocity for ranking, from partner-stats
    woken: list[RouterAgent] = []  # the router, once declared: a change wakes its waiting rows

    def stats_changed(*record: Any) -> None:
        stats(*record)
        for agent in woken:
            agent.wake_waiting()

    stats_view = follower.follow(
        [settings.topic("partner-stats")], stats_changed, name="partner-stats"
    )
    policy = PolicyView(settings, follower)  # the ranking weights in force, from routing-policy
    partnerships = PartnershipsView(settings, follower)  # the terms each offer carries
    views = (directory.view, claims_view, stats_view, policy.view, partnerships.view)

    async def load() -> None:
        for view in views:
            await view.wait_caught_up()
        await warm_producer(app, {settings.topic(spec.name) for spec in TOPICS})
        freeze_start_up_objects()

    loading: list[asyncio.Future[None]] = []

    async def ready() -> None:
        """Views caught up and the producer warmed: done once, awaited by whoever needs it."""
        if not loading:
            loading.append(asyncio.ensure_future(load()))
        await asyncio.shield(loading[0])

    router = Router(
        make_ranker(
            lambda: directory.directory,
            lambda: stats,
            lambda: policy.book.weights,
            partners_of=partnerships.book.active_partners,  # partners_only opportunities
        ),
        claims,
        ttl_s=settings.offer_ttl_s,
        closed_retention_s=settings.closed_retention_s,
        policy_version=lambda: policy.book.version,
        waiting_recheck_s=settings.waiting_recheck_s,
        terms_of=partnerships.book.terms_between,
        team_planner=make_team_planner(
            lambda: directory.directory,
            lambda: stats,
            lambda: policy.book.weights,
            partners_of=partnerships.book.active_partners,
        ),
    )
    agent = register_router(app, settings, router, ready)
    woken.append(agent)
    directory.on_change = agent.wake_waiting
    scorecards = register_scorecards(app, settings)  # ledger -> per-partner figures
    fees = register_fee_keeper(app, settings, follower)  # referral log -> fee ledger
    _run_with_app(app, follower)  # every view registered: one task follows them all
    register_status(app, settings, ready)  # "ready" on the workers topic once it routes
    gatekeeper = register_gatekeeper(app, settings)  # forged rights records -> dead letters
    return Contexts(
        directory, claims, stats, agent, scorecards, policy, partnerships, fees, gatekeeper
    )
