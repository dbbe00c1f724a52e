"""Run the webhook dispatcher inside an ``oppbus worker`` (so ``oppbus up`` runs it too).

The dispatcher has its own consumer group on ``referrals``: it never shares a partition assignment
or a commit with the router's agents, so slow endpoints cannot hold routing up. Disabled with
``OPPBUS_WEBHOOKS_ENABLED=false`` (e.g. a worker dedicated to routing).
"""

from __future__ import annotations

import faust
from mode import Service
from prometheus_client import CollectorRegistry

from connectors.webhooks.dispatcher import WebhookDispatcher
from streams.metrics import ReferralMetrics
from streams.settings import Settings

__all__ = ["register_webhooks"]


def register_webhooks(
    app: faust.App, settings: Settings, registry: CollectorRegistry | None = None
) -> None:
    """Start a :class:`WebhookDispatcher` with ``app`` and stop it with it."""
    if not settings.webhooks_enabled:
        return
    metrics = ReferralMetrics(registry) if registry is not None else None

    class WebhookService(Service):
        """The dispatcher as a Faust/mode service."""

        dispatcher: WebhookDispatcher | None = None

        async def on_start(self) -> None:
            self.dispatcher = WebhookDispatcher(settings, metrics=metrics)
            await self.dispatcher.start()

        async def on_stop(self) -> None:
            if self.dispatcher is not None:
                await self.dispatcher.stop()

    app.service(WebhookService)
