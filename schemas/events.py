"""Every event on the bus, its versioned CloudEvents type, its topic and its key.

``EVENT_TYPES`` maps a CloudEvents ``type`` (``io.oppbus.<subject>.<verb>.v<major>``) to its model;
the major version changes only on an incompatible change (see ``schemas/COMPATIBILITY.md``).

| topic           | key                                        | events                           |
|-----------------|--------------------------------------------|----------------------------------|
| partners        | partner_id                                 | partner.updated                  |
| credentials     | partner_id                                 | credential.updated               |
| partner-stats   | partner_id                                 | partner.stats (scorecards)       |
| opportunities   | opportunity_key(originator, opportunity_id) | opportunity.published/withdrawn/conflict-resolved/reroute |
| responses       | opportunity_key                            | referral.accept/decline/outcome  |
| referrals       | opportunity_key                            | referral.offered ... lead.revealed, opportunity.conflict-flagged/unroutable/waiting/exhausted, team.planned/assembled/incomplete |
| deadletter      | the original key                           | deadletter.recorded              |
| workers         | worker_id                                  | worker.status                    |
| routing-policy  | the policy version                         | policy.applied                   |
| partnerships    | partnership_id (network terms: network-default) | partnership.updated, terms.default-set |
| fees            | event_id (``<fee_id>.<kind>``)             | fee.recorded                     |
| api-guards      | slot (sha256)                              | api.guard                        |
"""

from __future__ import annotations

from schemas.common import Contract
from schemas.credentials import Credential
from schemas.errors import FieldError, InvalidEvent
from schemas.fees import FeeRecorded
from schemas.guards import GuardRecord
from schemas.health import WorkerStatus
from schemas.ids import opportunity_key
from schemas.lifecycle import (
    ConflictResolved,
    OpportunityExhausted,
    OpportunityWaiting,
    RerouteRequested,
)
from schemas.operations import ConflictFlagged, DeadLetter, OpportunityUnroutable
from schemas.opportunity import Opportunity, OpportunityWithdrawn
from schemas.partner import PartnerProfile
from schemas.partnership import NETWORK_TERMS_KEY, NetworkTerms, Partnership
from schemas.policy import RoutingPolicy, policy_key
from schemas.referrals import (
    AcceptReferral,
    DeclineReferral,
    LeadRevealed,
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWithdrawn,
    ReferralWon,
    ReportOutcome,
    Teaser,
)
from schemas.scorecard import PartnerScorecard
from schemas.teams import LeadAssembled, TeamAssembled, TeamIncomplete, TeamPlanned
from schemas.webhooks import WebhookDelivery, WebhookRedrive, WebhookSubscription

__all__ = [
    "EVENT_TOPICS",
    "EVENT_TYPES",
    "AcceptReferral",
    "ConflictFlagged",
    "ConflictResolved",
    "Credential",
    "DeadLetter",
    "DeclineReferral",
    "Event",
    "FeeRecorded",
    "FieldError",
    "InvalidEvent",
    "LeadAssembled",
    "LeadRevealed",
    "NetworkTerms",
    "OfferMade",
    "Opportunity",
    "OpportunityExhausted",
    "OpportunityUnroutable",
    "OpportunityWaiting",
    "OpportunityWithdrawn",
    "PartnerProfile",
    "PartnerScorecard",
    "Partnership",
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralExpired",
    "ReferralLost",
    "ReferralWithdrawn",
    "ReferralWon",
    "ReportOutcome",
    "RerouteRequested",
    "RoutingPolicy",
    "TeamAssembled",
    "TeamIncomplete",
    "TeamPlanned",
    "Teaser",
    "WebhookDelivery",
    "WebhookRedrive",
    "WebhookSubscription",
    "WorkerStatus",
    "event_key",
    "event_topic",
    "type_of",
]

Event = (
    PartnerProfile
    | PartnerScorecard
    | Opportunity
    | OpportunityWithdrawn
    | AcceptReferral
    | DeclineReferral
    | ReportOutcome
    | OfferMade
    | ReferralAccepted
    | ReferralDeclined
    | ReferralExpired
    | ReferralWon
    | ReferralLost
    | ReferralWithdrawn
    | LeadRevealed
    | ConflictFlagged
    | OpportunityUnroutable
    | DeadLetter
    | Credential
    | WebhookSubscription
    | WebhookDelivery
    | WebhookRedrive
    | WorkerStatus
    | RoutingPolicy
    | ConflictResolved
    | RerouteRequested
    | OpportunityWaiting
    | OpportunityExhausted
    | Partnership
    | NetworkTerms
    | FeeRecorded
    | GuardRecord
    | TeamPlanned
    | TeamAssembled
    | TeamIncomplete
    | LeadAssembled
)

_PREFIX = "io.oppbus."

EVENT_TYPES: dict[str, type[Contract]] = {
    _PREFIX + "partner.updated.v1": PartnerProfile,
    _PREFIX + "partner.stats.v1": PartnerScorecard,
    _PREFIX + "opportunity.published.v1": Opportunity,
    _PREFIX + "opportunity.withdrawn.v1": OpportunityWithdrawn,
    _PREFIX + "referral.accept.v1": AcceptReferral,
    _PREFIX + "referral.decline.v1": DeclineReferral,
    _PREFIX + "referral.outcome.v1": ReportOutcome,
    _PREFIX + "referral.offered.v1": OfferMade,
    _PREFIX + "referral.accepted.v1": ReferralAccepted,
    _PREFIX + "referral.declined.v1": ReferralDeclined,
    _PREFIX + "referral.expired.v1": ReferralExpired,
    _PREFIX + "referral.won.v1": ReferralWon,
    _PREFIX + "referral.lost.v1": ReferralLost,
    _PREFIX + "referral.withdrawn.v1": ReferralWithdrawn,
    _PREFIX + "lead.revealed.v1": LeadRevealed,
    _PREFIX + "opportunity.conflict-flagged.v1": ConflictFlagged,
    _PREFIX + "opportunity.unroutable.v1": OpportunityUnroutable,
    _PREFIX + "deadletter.recorded.v1": DeadLetter,
    _PREFIX + "credential.updated.v1": Credential,
    _PREFIX + "webhook.subscribed.v1": WebhookSubscription,
    _PREFIX + "webhook.settled.v1": WebhookDelivery,
    _PREFIX + "webhook.redrive.v1": WebhookRedrive,
    _PREFIX + "worker.status.v1": WorkerStatus,
    _PREFIX + "policy.applied.v1": RoutingPolicy,
    _PREFIX + "opportunity.conflict-resolved.v1": ConflictResolved,
    _PREFIX + "opportunity.reroute.v1": RerouteRequested,
    _PREFIX + "opportunity.waiting.v1": OpportunityWaiting,
    _PREFIX + "opportunity.exhausted.v1": OpportunityExhausted,
    _PREFIX + "partnership.updated.v1": Partnership,
    _PREFIX + "terms.default-set.v1": NetworkTerms,
    _PREFIX + "fee.recorded.v1": FeeRecorded,
    _PREFIX + "api.guard.v1": GuardRecord,
    _PREFIX + "team.planned.v1": TeamPlanned,
    _PREFIX + "team.assembled.v1": TeamAssembled,
    _PREFIX + "team.incomplete.v1": TeamIncomplete,
    _PREFIX + "lead.assembled.v1": LeadAssembled,
}

_TYPE_OF: dict[type[Contract], str] = {model: ce_type for ce_type, model in EVENT_TYPES.items()}

# Topic name (short, without the prefix; see schemas/topics.py) of each event type.
_TOPIC_OF_MODEL: dict[type[Contract], str] = {
    PartnerProfile: "partners",
    PartnerScorecard: "partner-stats",
    Opportunity: "opportunities",
    OpportunityWithdrawn: "opportunities",
    AcceptReferral: "responses",
    DeclineReferral: "responses",
    ReportOutcome: "responses",
    DeadLetter: "deadletter",
    Credential: "credentials",
    WebhookSubscription: "webhooks",
    WebhookDelivery: "webhook-deliveries",
    WebhookRedrive: "webhook-redrives",
    WorkerStatus: "workers",
    RoutingPolicy: "routing-policy",
    ConflictResolved: "opportunities",
    RerouteRequested: "opportunities",
    Partnership: "partnerships",
    NetworkTerms: "partnerships",
    FeeRecorded: "fees",
    GuardRecord: "api-guards",
}
EVENT_TOPICS: dict[str, str] = {
    ce_type: _TOPIC_OF_MODEL.get(model, "referrals") for ce_type, model in EVENT_TYPES.items()
}


def type_of(event: Contract | type[Contract]) -> str:
    """The CloudEvents type of an event (instance or class); KeyError if it is not a bus event."""
    model = event if isinstance(event, type) else type(event)
    return _TYPE_OF[model]


def event_topic(event: Contract | type[Contract]) -> str:
    """The short topic name an event is published on (``settings.topic(...)`` gives the full one)."""
    return EVENT_TOPICS[type_of(event)]


def event_key(event: Contract) -> bytes | None:
    """The Kafka key of an event: partner id, opportunity key, or a dead letter's original key."""
    if isinstance(event, PartnerProfile | Credential | PartnerScorecard):
        return event.partner_id.encode()
    if isinstance(event, DeadLetter):
        return event.original_key()
    if isinstance(event, WebhookSubscription):
        return event.partner_id.encode()
    if isinstance(event, WebhookDelivery | WebhookRedrive):
        return event.webhook_id.encode()
    if isinstance(event, WorkerStatus):
        return event.worker_id.encode()
    if isinstance(event, RoutingPolicy):
        return policy_key(event.version)
    if isinstance(event, Partnership):
        return event.partnership_id.encode()
    if isinstance(event, NetworkTerms):
        return NETWORK_TERMS_KEY.encode()
    if isinstance(event, FeeRecorded):
        return event.event_id.encode()
    if isinstance(event, GuardRecord):
        return event.slot.encode()
    originator: str = getattr(event, "originator")  # noqa: B009 - every other event has both
    opportunity_id: str = getattr(event, "opportunity_id")  # noqa: B009
    return opportunity_key(originator, opportunity_id).encode()
