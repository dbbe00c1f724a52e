"""From lifecycle effects to bus events: the one place that builds what the router publishes.

Every event id is derived from what makes the event unique (``schemas.ids.event_id``), so a
re-processed input yields the very same event and consumers dedupe on it; a partner's lead is keyed
by its stable referral id, never duplicated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from schemas.codec import encode
from schemas.common import Contract, Money
from schemas.events import (
    ConflictFlagged,
    LeadRevealed,
    OfferMade,
    Opportunity,
    OpportunityExhausted,
    OpportunityUnroutable,
    OpportunityWaiting,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWithdrawn,
    ReferralWon,
)
from schemas.ids import event_id, split_opportunity_key
from schemas.referrals import teaser_of
from schemas.teams import (
    LeadAssembled,
    TeamAssembled,
    TeamIncomplete,
    TeamMate,
    TeamMember,
    TeamPlanned,
    TeamRole,
)
from schemas.terms import Terms
from streams.ledger.machine import Referral, Status
from streams.offers.lifecycle import (
    Effect,
    Exhausted,
    Moved,
    Offered,
    Refused,
    Revealed,
    Waiting,
)
from streams.offers.team_state import (
    Member,
    TeamAssembledFx,
    TeamIncompleteFx,
    TeamPlannedFx,
    TeamState,
)

__all__ = [
    "SOURCE",
    "Out",
    "TermsOf",
    "claim_holder_event",
    "conflict_event",
    "effect_events",
    "out",
    "replayed_moves",
    "ts",
]

SOURCE = "oppbus/router"
# (originator, receiver) -> the terms in force between them now (streams.partnerships.book)
TermsOf = Callable[[str, str], Terms | None]


@dataclass(frozen=True)
class Out:
    """One record to publish: short topic name, key, value, headers."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def out(event: Contract, key: bytes, eid: str, at: float, topic: str = "referrals") -> Out:
    enc = encode(event, source=SOURCE, id=eid, time=ts(at))
    return Out(topic, key, enc.value, enc.headers)


def _about(r: Referral, opp: Opportunity) -> dict[str, str]:
    return _ids(r, opp.originator, opp.opportunity_id)


def _ids(r: Referral, originator: str, opportunity_id: str) -> dict[str, str]:
    return {
        "referral_id": r.referral_id,
        "opportunity_id": opportunity_id,
        "originator": originator,
        "partner_id": r.partner_id,
    }


def _moved(r: Referral, about: dict[str, str]) -> Contract:
    at = ts(r.updated_at)
    match r.status:
        case Status.ACCEPTED:
            return ReferralAccepted(**about, accepted_at=at)
        case Status.DECLINED:
            return ReferralDeclined(**about, reason=r.reason, note=r.note, declined_at=at)
        case Status.EXPIRED:
            return ReferralExpired(**about, expired_at=at)
        case Status.WON:
            amount = Money(amount=r.amount or Decimal(0), currency=r.currency or "USD")
            return ReferralWon(**about, amount=amount, won_at=at)
        case Status.LOST:
            return ReferralLost(**about, reason=r.reason, note=r.note, lost_at=at)
        case Status.WITHDRAWN:
            return ReferralWithdrawn(**about, reason=r.reason, withdrawn_at=at)
    raise ValueError(f"no event for a referral moving to {r.status}")


def effect_events(
    effects: tuple[Effect, ...],
    opp: Opportunity,
    key: bytes,
    *,
    now: float,
    excluded: dict[str, int] | None = None,
    considered: int = 0,
    policy_version: int | None = None,
    waiting: dict[str, int] | None = None,
    terms_of: TermsOf | None = None,
    team: TeamState | None = None,
) -> tuple[list[Out], list[Refused]]:
    """The records for ``effects`` (refusals are returned apart: they go to the dead-letter policy).

    ``policy_version``: the routing policy version in force, recorded on every offer.
    ``waiting``: why the opportunity waits (reason code -> partners), for a ``Waiting`` effect.
    ``team``: a team opportunity's roles (each offer then carries its role).
    """
    records: list[Out] = []
    refused: list[Refused] = []
    teaser = None
    for effect in effects:
        if isinstance(effect, Offered):
            r = effect.referral
            teaser = teaser or teaser_of(opp)
            event: Contract = OfferMade(
                **_about(r, opp),
                round=r.round,
                rank=r.rank,
                score=r.score,
                reasons=r.reasons,  # validated once, by OfferMade's own field
                teaser=teaser,
                offered_at=ts(r.offered_at),
                expires_at=ts(r.expires_at),
                policy_version=policy_version,
                terms=terms_of(opp.originator, r.partner_id) if terms_of else None,
                team=_role_of(team, r.referral_id),
            )
            records.append(out(event, key, event_id(r.referral_id, "offered"), r.offered_at))
        elif isinstance(effect, Moved):
            r = effect.referral
            eid = event_id(r.referral_id, r.status.value)
            records.append(out(_moved(r, _about(r, opp)), key, eid, r.updated_at))
        elif isinstance(effect, Revealed):
            r = effect.referral
            event = LeadRevealed(
                **_about(r, opp),
                customer=opp.customer,
                deal_size=opp.deal_size,
                title=opp.title,
                revealed_at=ts(r.updated_at),
            )
            records.append(out(event, key, event_id(r.referral_id, "revealed"), r.updated_at))
        elif isinstance(effect, Exhausted) and effect.tried:
            records.append(_exhausted(opp, key, effect, now))
        elif isinstance(effect, Exhausted):
            records.append(_unroutable(opp, key, effect, excluded, considered, now))
        elif isinstance(effect, Waiting):
            event = OpportunityWaiting(
                opportunity_id=opp.opportunity_id,
                originator=opp.originator,
                reasons=waiting or {"no_partner": 0},
                until=ts(effect.until),
                at=ts(now),
            )
            records.append(
                out(event, key, event_id(key.decode(), "waiting", str(effect.tried)), now)
            )
        elif isinstance(effect, TeamPlannedFx | TeamAssembledFx | TeamIncompleteFx):
            records.extend(_team_events(effect, opp, key))
        else:
            refused.append(effect)
    return records, refused


def _role_of(team: TeamState | None, referral_id: str) -> TeamRole | None:
    role = team.role_of(referral_id) if team is not None else None
    if team is None or role is None:
        return None
    return TeamRole(role=role.needs, size=max(1, len(team.live)))


def _members(members: tuple[Member, ...]) -> tuple[TeamMember, ...]:
    return tuple(TeamMember(needs=n, partner_id=p, referral_id=r) for n, p, r in members)


def _team_events(
    effect: TeamPlannedFx | TeamAssembledFx | TeamIncompleteFx, opp: Opportunity, key: bytes
) -> list[Out]:
    """The team's events: planned / assembled / incomplete for the originator, and, once
    assembled, one ``LeadAssembled`` per member naming the others (to that member only)."""
    about = {"opportunity_id": opp.opportunity_id, "originator": opp.originator}
    k = key.decode()
    if isinstance(effect, TeamPlannedFx):
        event: Contract = TeamPlanned(
            **about, round=effect.round, roles=_members(effect.roles), at=ts(effect.at)
        )
        return [out(event, key, event_id(k, "team-planned", str(effect.round)), effect.at)]
    if isinstance(effect, TeamIncompleteFx):
        event = TeamIncomplete(**about, reasons=dict(effect.reasons), at=ts(effect.at))
        return [out(event, key, event_id(k, "team-incomplete"), effect.at)]
    members = _members(effect.members)
    records = [
        out(TeamAssembled(**about, members=members, at=ts(effect.at)), key,
            event_id(k, "team-assembled"), effect.at)
    ]  # fmt: skip
    for m in members:
        lead = LeadAssembled(
            **about,
            referral_id=m.referral_id,
            partner_id=m.partner_id,
            role=m.needs,
            members=tuple(
                TeamMate(needs=o.needs, partner_id=o.partner_id) for o in members if o is not m
            ),
            assembled_at=ts(effect.at),
        )
        records.append(out(lead, key, event_id(m.referral_id, "assembled"), effect.at))
    return records


def replayed_moves(
    effects: tuple[Effect, ...], originator: str, opportunity_id: str, key: bytes
) -> list[Out]:
    """The records of the ``Moved`` effects replayed for a closed opportunity (its compact marker
    keeps no opportunity): the very same events ``effect_events`` published for those moves."""
    records: list[Out] = []
    for effect in effects:
        if isinstance(effect, Moved):
            r = effect.referral
            eid = event_id(r.referral_id, r.status.value)
            about = _ids(r, originator, opportunity_id)
            records.append(out(_moved(r, about), key, eid, r.updated_at))
    return records


def _unroutable(
    opp: Opportunity,
    key: bytes,
    effect: Exhausted,
    excluded: dict[str, int] | None,
    considered: int,
    now: float,
) -> Out:
    event = OpportunityUnroutable(
        opportunity_id=opp.opportunity_id,
        originator=opp.originator,
        candidates=considered,
        excluded=dict(excluded or {}),
        round=effect.rounds,
        at=ts(now),
    )
    eid = event_id(key.decode(), "unroutable", str(effect.tried))
    return out(event, key, eid, now)


def _exhausted(opp: Opportunity, key: bytes, effect: Exhausted, now: float) -> Out:
    event = OpportunityExhausted(
        opportunity_id=opp.opportunity_id,
        originator=opp.originator,
        offered=effect.tried,
        declined=effect.declined,
        expired=effect.expired,
        rounds=effect.rounds,
        at=ts(now),
    )
    return out(event, key, event_id(key.decode(), "exhausted", str(effect.tried)), now)


def claim_holder_event(
    first_key: str, later_key: str, domain: str, needs: tuple[str, ...], first_at: float, now: float
) -> Out:
    """The notice to the originator of the opportunity holding the claim: a later opportunity for
    its customer and need was flagged (which one, and whose, is not said)."""
    originator, opportunity_id = split_opportunity_key(first_key)
    event = ConflictFlagged(
        opportunity_id=opportunity_id,
        originator=originator,
        domain=domain,
        needs=needs,
        first_registered_at=_day(first_at),
        flagged_at=ts(now),
        holds_claim=True,
    )
    eid = event_id(first_key, "conflict-holder", later_key)
    return out(event, first_key.encode(), eid, now)


def _day(seconds: float) -> datetime:
    """A registration time as a conflict notice tells it: the day only (no answer is an oracle
    of when, to the second, another partner registered the customer)."""
    return ts(seconds).replace(hour=0, minute=0, second=0, microsecond=0)


def conflict_event(
    opp: Opportunity, key: bytes, domain: str, needs: tuple[str, ...], first_at: float, now: float
) -> Out:
    event = ConflictFlagged(
        opportunity_id=opp.opportunity_id,
        originator=opp.originator,
        domain=domain,
        needs=needs,
        first_registered_at=_day(first_at),
        flagged_at=ts(now),
    )
    return out(event, key, event_id(key.decode(), "conflict"), now)
