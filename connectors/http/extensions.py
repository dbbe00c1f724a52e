"""Routes other connectors add to the API app (webhooks, CRM inbound, interop).

``create_web_app`` calls :func:`install_extensions` once, after the core routes. A connector adds
one line here calling its own ``add_*_routes(app)``; inside its handlers it reaches the shared
publisher, read model and auth through ``connectors.http.state.state_of(request)`` and
``connectors.http.auth``. Nothing is imported at module level, so an API without those
connectors stays importable.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.settings import Settings

__all__ = ["install_extensions"]


def install_extensions(
    app: web.Application, settings: Settings, registry: CollectorRegistry
) -> None:
    """Add the routes of every further connector to ``app`` (one call per connector)."""
    from connectors.crm.routes import add_crm_routes
    from connectors.webhooks.routes import add_webhook_routes

    add_webhook_routes(app)  # PUT/GET/DELETE /v1/partners/{id}/webhook, delivery log
    add_crm_routes(app)  # POST /v1/crm/hubspot|salesforce/{partner_id}
