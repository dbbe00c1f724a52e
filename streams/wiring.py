"""The explicit list of bounded contexts whose agents, tables and timers run in a worker."""

from __future__ import annotations

import faust
from prometheus_client import CollectorRegistry

from connectors.webhooks.service import register_webhooks
from ops.settings import Settings
from streams.scorecards.agents import register_scorecards

__all__ = ["register_all"]


def register_all(
    app: faust.App, settings: Settings, registry: CollectorRegistry | None = None
) -> None:
    """Register every bounded context on ``app`` (the explicit autodiscover list).

    ``registry``: the worker's metrics registry (served at the worker's ``/metrics``), if any.
    """
    register_scorecards(app, settings)  # ledger -> per-partner figures on partner-stats
    register_webhooks(app, settings, registry)  # outbound webhooks: own consumer group on referrals
