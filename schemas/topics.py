"""The bus topics: one catalogue, the single source for creation, the workers and AsyncAPI.

Every topic name is ``<prefix>.<name>`` (``Settings.topic``). Only the bus's own processes write
these topics (``publishers``: the API, CRM inbound routes in the API process, the worker's agents);
partners reach the bus through the HTTP API (docs/security.md). Keys are chosen so that everything
about one opportunity (its offers, the partners' responses, its deadlines) lands on one partition
and is handled by one worker, while the partner directory is read whole by every worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["TOPICS", "TopicSpec", "topic_spec"]

Cleanup = Literal["delete", "compact"]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    cleanup: Cleanup
    description: str
    publishers: tuple[str, ...]
    consumers: tuple[str, ...]
    partitions: int | None = None  # None: Settings.partitions

    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup}


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name="partners",
        key="partner_id",
        cleanup="compact",
        description="Partner capability updates / profiles; last writer wins by version.",
        publishers=("http-api",),
        consumers=("router (global directory)", "http-api", "gatekeeper"),
    ),
    TopicSpec(
        name="opportunities",
        key="originator/opportunity_id",
        cleanup="delete",
        description="Opportunity published / withdrawn, through the HTTP API or CRM inbound.",
        publishers=("http-api", "crm-inbound"),
        consumers=("router", "http-api", "metrics"),
    ),
    TopicSpec(
        name="responses",
        key="originator/opportunity_id",
        cleanup="delete",
        description="A partner's response to an offer: accept, decline, outcome (won/lost).",
        publishers=("http-api",),
        consumers=("router",),
    ),
    TopicSpec(
        name="referrals",
        key="originator/opportunity_id",
        cleanup="delete",
        description="The referral ledger: offered, accepted, declined, expired, won, lost, "
        "withdrawn, lead revealed, unroutable, conflict flagged.",
        publishers=("router",),
        consumers=("http-api", "webhooks", "scorecards", "metrics"),
    ),
    TopicSpec(
        name="partner-stats",
        key="partner_id",
        cleanup="compact",
        description="Per-partner aggregates (open offers, acceptance and win rates, revenue) "
        "feeding routing and scorecards.",
        publishers=("scorecards",),
        consumers=("router (global)", "http-api"),
    ),
    TopicSpec(
        name="scorecard-facts",
        key="partner_id",
        cleanup="delete",
        description="Internal: each ledger fact re-keyed by the partner it concerns (giver and "
        "receiver), so one worker folds all of a partner's figures.",
        publishers=("scorecards",),
        consumers=("scorecards",),
    ),
    TopicSpec(
        name="credentials",
        key="partner_id",
        cleanup="compact",
        description="Hashed partner API keys (never the key itself).",
        publishers=("http-api",),
        consumers=("http-api", "gatekeeper"),
    ),
    TopicSpec(
        name="offer-deadlines",
        key="opportunity_key",
        cleanup="delete",
        description="Internal: the deadline timer's 'offers of this opportunity may be due' ticks, "
        "so expiries are decided by the worker owning the opportunity's partition.",
        publishers=("router (deadline timer)",),
        consumers=("router",),
    ),
    TopicSpec(
        name="customer-claims",
        key="normalised customer domain|need",
        cleanup="compact",
        description="Internal: conflict-detection registrations (customer domain and need -> "
        "first opportunity within the window), read whole by every router.",
        publishers=("router",),
        consumers=("router (global view)",),
    ),
    TopicSpec(
        name="deadletter",
        key="original key",
        cleanup="delete",
        description="Events that could not be processed, with the reason and their origin.",
        publishers=("router", "gatekeeper", "webhooks"),
        consumers=("ops", "metrics"),
    ),
    TopicSpec(
        name="webhooks",
        key="partner_id",
        cleanup="compact",
        description="Partner webhook subscriptions: endpoint, signing secret (sensitive), events.",
        publishers=("http-api",),
        consumers=("webhooks", "http-api", "gatekeeper"),
    ),
    TopicSpec(
        name="api-guards",
        key="slot (sha256 of an Idempotency-Key or a signed CRM request)",
        cleanup="compact",
        description="Replay guards shared by every API process: a request's claim, then its "
        "response (Idempotency-Key) or its release; read whole by every API process.",
        publishers=("http-api",),
        consumers=("http-api",),
    ),
    TopicSpec(
        name="webhook-deliveries",
        key="webhook_id",
        cleanup="compact",
        description="Settled outbound webhook deliveries (delivered or dead) with every attempt: "
        "the delivery log per lead and fee event and the dispatcher's record of what was "
        "delivered; a redrive's record supersedes the dead one.",
        publishers=("webhooks",),
        consumers=("webhooks", "http-api", "gatekeeper"),
    ),
    TopicSpec(
        name="webhook-redrives",
        key="webhook_id",
        cleanup="compact",
        description="The operator's redrives of dead webhook deliveries, numbered per delivery so "
        "each is carried out once; read by the dispatcher's consumer group.",
        publishers=("http-api",),
        consumers=("webhooks", "http-api"),
    ),
    TopicSpec(
        name="workers",
        key="worker_id",
        cleanup="compact",
        description="Each worker's readiness (starting, ready, stopped) and assigned input "
        "partitions, repeated as a heartbeat: what the API's /healthz reads.",
        publishers=("worker",),
        consumers=("http-api",),
    ),
    TopicSpec(
        name="routing-policy",
        key="policy version",
        cleanup="compact",
        description="The routing policy (ranking weights and switches), one record per version: "
        "the highest version is in force; every version is kept for replays.",
        publishers=("oppbus policy apply (operator)",),
        consumers=("router (global view)", "http-api (status)", "oppbus replay"),
    ),
    TopicSpec(
        name="partnerships",
        key="partnership_id",
        cleanup="compact",
        description="Partnerships between two partners, each record the whole state (status, "
        "terms in force, terms proposed); the network default terms under key network-default.",
        publishers=("http-api",),
        consumers=("http-api", "router (global view)", "fees"),
    ),
    TopicSpec(
        name="fees",
        key="event_id",
        cleanup="compact",
        description="The fee ledger: fee accrued, approved, settled, reversed; append-only, each "
        "event's id derived from its cause so a repeated append counts once.",
        publishers=("fees", "http-api"),
        consumers=("http-api", "fees", "webhooks"),
    ),
)


def topic_spec(name: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(name)
