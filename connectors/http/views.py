"""The API's read model state: pure, in-memory views built by applying bus events in order.

Nothing here does I/O: :class:`Views.apply` takes a decoded event and updates

* ``profiles`` (partners topic; last writer wins by ``version``, stale updates ignored),
* ``keys`` (credentials topic, see :mod:`connectors.http.keys`),
* ``stats`` (partner-stats topic: the scorecards, highest ``revision`` per partner),
* ``opportunities`` (opportunities topic + the referral ledger: what an originator may see),
* ``referrals`` (the ledger: one :class:`Referral` per offer, what its holder may see),
* ``commerce`` (partnerships and fees topics, :mod:`connectors.http.commerce`).

Ledger events are applied as the state machine allows (offered → accepted | declined | expired |
withdrawn; accepted → won | lost | withdrawn): a replayed or out-of-date event changes nothing.
Every change to a referral bumps its ``seq`` (one counter for the whole view), which the lead stream
uses to resume.

Bounded: an opportunity is *closed* once nothing of it is open (no referral offered or accepted)
after a closing fact — withdrawn, an outcome (won or lost), exhausted or unroutable. With a
``closed_retention_s``, :meth:`Views.expire` forgets a closed opportunity and its referrals that
long after it closed (event time), as the workers forget their closed rows: the views then hold
what is open plus the retention's worth of history, whatever the bus's age. The log keeps it all.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from connectors.http.commerce import CommerceView
from connectors.http.keys import Credential, KeyRing
from schemas.common import Money
from schemas.fees import FeeRecorded
from schemas.ids import opportunity_key
from schemas.lifecycle import OpportunityExhausted
from schemas.operations import OpportunityUnroutable
from schemas.opportunity import Customer, Opportunity, OpportunityWithdrawn
from schemas.partner import PartnerProfile
from schemas.partnership import NetworkTerms, Partnership
from schemas.referrals import (
    LeadRevealed,
    OfferMade,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWithdrawn,
    ReferralWon,
)
from schemas.scorecard import PartnerScorecard
from schemas.teams import LeadAssembled, TeamAssembled, TeamIncomplete, TeamPlanned

__all__ = ["OpportunityState", "Referral", "TeamView", "Views"]

_FROM: dict[str, frozenset[str]] = {
    "accepted": frozenset({"offered"}),
    "declined": frozenset({"offered"}),
    "expired": frozenset({"offered"}),
    "withdrawn": frozenset({"offered", "accepted"}),
    "won": frozenset({"accepted"}),
    "lost": frozenset({"accepted"}),
}
REVEALED_STATUSES = frozenset({"accepted", "won", "lost"})


@dataclass
class Referral:
    """One offer of one opportunity to one partner, as the ledger tells it."""

    offer: OfferMade
    status: str = "offered"
    updated_at: datetime | None = None
    seq: int = 0
    customer: Customer | None = None
    deal_size: Money | None = None
    title: str | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    prime: dict[str, Any] | None = None  # a team role: the originator, once accepted
    members: list[dict[str, Any]] | None = None  # a team role: the others, once assembled

    @property
    def referral_id(self) -> str:
        return self.offer.referral_id

    @property
    def partner_id(self) -> str:
        return self.offer.partner_id

    @property
    def opportunity_key(self) -> str:
        return opportunity_key(self.offer.originator, self.offer.opportunity_id)

    def as_lead(self) -> dict[str, Any]:
        """The holder's view (``GET /v1/leads`` item): the customer only once accepted."""
        o = self.offer
        lead: dict[str, Any] = {
            "referral_id": o.referral_id,
            "opportunity_id": o.opportunity_id,
            "originator": o.originator,
            "status": self.status,
            "teaser": o.teaser.model_dump(mode="json"),
            "score": o.score,
            "reasons": [r.model_dump(mode="json") for r in o.reasons],
            "round": o.round,
            "rank": o.rank,
            "policy_version": o.policy_version,
            "offered_at": o.offered_at.isoformat(),
            "expires_at": o.expires_at.isoformat(),
            "updated_at": (self.updated_at or o.offered_at).isoformat(),
            "terms": o.terms.model_dump(mode="json") if o.terms is not None else None,
        }
        if self.status in REVEALED_STATUSES and self.customer is not None:
            lead["customer"] = self.customer.model_dump(mode="json")
            if self.deal_size is not None:
                lead["deal_size"] = self.deal_size.model_dump(mode="json")
            if self.title is not None:
                lead["title"] = self.title
        if self.outcome:
            lead["outcome"] = dict(self.outcome)
        if o.team is not None:
            lead["team"] = self._team()
        return lead

    def _team(self) -> dict[str, Any]:
        """A team role: its needs and the team's size; once accepted the prime (the originator
        and its contact); once the whole team is assembled, the other members."""
        assert self.offer.team is not None
        team: dict[str, Any] = {"role": list(self.offer.team.role), "size": self.offer.team.size}
        if self.status in REVEALED_STATUSES and self.customer is not None:
            if self.prime is not None:
                team["prime"] = dict(self.prime)
            if self.members is not None:
                team["members"] = [dict(m) for m in self.members]
        return team

    def as_offer(self) -> dict[str, Any]:
        """The originator's view of this offer (no customer: the originator has it already)."""
        o = self.offer
        view: dict[str, Any] = {
            "referral_id": o.referral_id,
            "partner_id": o.partner_id,
            "status": self.status,
            "round": o.round,
            "rank": o.rank,
            "score": o.score,
            "reasons": [r.model_dump(mode="json") for r in o.reasons],
            "policy_version": o.policy_version,
            "offered_at": o.offered_at.isoformat(),
            "expires_at": o.expires_at.isoformat(),
            "updated_at": (self.updated_at or o.offered_at).isoformat(),
        }
        if self.outcome:
            view["outcome"] = dict(self.outcome)
        return view


@dataclass
class OpportunityState:
    """Everything an originator may see about its opportunity."""

    originator: str
    opportunity_id: str
    opportunity: Opportunity | None = None
    withdrawn: OpportunityWithdrawn | None = None
    referrals: list[str] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    team: TeamView | None = None  # a team opportunity: its roles as the ledger tells them
    # the time of the latest closing fact (withdrawn, an outcome, exhausted or unroutable)
    closing_at: datetime | None = None


@dataclass
class TeamView:
    """A team's roles (needs, the referrals offered for each in order, why one is unfilled)."""

    roles: list[dict[str, Any]] = field(default_factory=list)
    status: str = "assembling"  # assembling | assembled | incomplete
    rounds: set[int] = field(default_factory=set)  # plans applied (a replayed one changes nothing)

    def role(self, needs: tuple[str, ...]) -> dict[str, Any]:
        for role in self.roles:
            if role["needs"] == needs:
                return role
        role = {"needs": needs, "referrals": [], "unfilled": None}
        self.roles.append(role)
        return role

    def planned(self, event: TeamPlanned) -> None:
        if event.round in self.rounds:
            return
        self.rounds.add(event.round)
        if event.round == 1:  # planned (after an unroutable one was rerouted: a fresh team)
            self.status, self.roles = "assembling", []
        if event.round > 1:  # the re-plan replaces the role whose needs it splits
            split = {n for m in event.roles for n in m.needs}
            self.roles = [r for r in self.roles if not set(r["needs"]) <= split]
        for member in event.roles:
            referrals = self.role(member.needs)["referrals"]
            if member.referral_id not in referrals:
                referrals.append(member.referral_id)


OPEN_STATUSES = frozenset({"offered", "accepted"})
# an outcome closes the opportunity (once nothing of it is open)
CLOSED_STATUSES = frozenset({"won", "lost"})
CLOSING_NOTICES = (OpportunityExhausted, OpportunityUnroutable)


class Views:
    """All read-model views; :meth:`apply` and :meth:`expire` are the only writers.

    ``closed_retention_s``: how long a closed opportunity stays (None: for ever)."""

    def __init__(self, closed_retention_s: float | None = None) -> None:
        self.retention = (
            None if closed_retention_s is None else timedelta(seconds=closed_retention_s)
        )
        self._closing: list[tuple[datetime, str]] = []  # (closed at, opportunity key), a heap
        self.forgotten = 0  # opportunities expired
        self.profiles: dict[str, PartnerProfile] = {}
        self.keys = KeyRing()
        self.stats: dict[str, PartnerScorecard] = {}
        self.opportunities: dict[str, OpportunityState] = {}
        self.referrals: dict[str, Referral] = {}
        self.by_partner: dict[str, dict[str, Referral]] = {}
        self.commerce = CommerceView()  # partnerships, network terms, fees
        self.fee_seq: dict[str, int] = {}  # fee id -> seq of its last change (the lead stream)
        self.seq = 0

    # --- reads -------------------------------------------------------------------------------

    def leads_of(self, partner_id: str) -> list[Referral]:
        found = self.by_partner.get(partner_id, {})
        return sorted(found.values(), key=lambda r: r.seq)

    def referral_of(self, partner_id: str, referral_id: str) -> Referral | None:
        """The referral if ``partner_id`` holds it; None otherwise (never someone else's)."""
        referral = self.referrals.get(referral_id)
        if referral is None or referral.partner_id != partner_id:
            return None
        return referral

    def opportunity_of(self, originator: str, opportunity_id: str) -> OpportunityState | None:
        return self.opportunities.get(opportunity_key(originator, opportunity_id))

    # --- the writer ----------------------------------------------------------------------------

    def apply(
        self,
        event: BaseModel,
        *,
        topic: str,
        key: str | None = None,
        at: datetime | None = None,
    ) -> list[Referral]:
        """Apply one decoded event (``at``: its time); returns the referrals whose state changed
        (for the stream)."""
        if isinstance(event, Credential):
            self.keys.apply(event)
        elif isinstance(event, PartnerProfile):
            current = self.profiles.get(event.partner_id)
            if current is None or event.version > current.version:
                self.profiles[event.partner_id] = event
        elif isinstance(event, PartnerScorecard):
            current_card = self.stats.get(event.partner_id)
            if current_card is None or event.revision > current_card.revision:
                self.stats[event.partner_id] = event
        elif isinstance(event, Opportunity):
            state = self._opportunity(event.originator, event.opportunity_id)
            if state.opportunity is None:
                state.opportunity = event
        elif isinstance(event, OpportunityWithdrawn):
            state = self._opportunity(event.originator, event.opportunity_id)
            if state.withdrawn is None:
                state.withdrawn = event
            self._closed(state, event.withdrawn_at)
        elif isinstance(event, Partnership | NetworkTerms | FeeRecorded):
            if self.commerce.apply(event) and isinstance(event, FeeRecorded):
                self.seq += 1
                self.fee_seq[event.fee_id] = self.seq
        elif isinstance(event, OfferMade):
            return self._offer(event)
        elif isinstance(event, TeamPlanned | TeamAssembled | TeamIncomplete):
            self._team(event)
        elif isinstance(event, LeadAssembled):
            return self._assembled(event)
        else:
            return self._ledger(event, at)
        return []

    # --- retention -----------------------------------------------------------------------------

    def is_closed(self, state: OpportunityState) -> bool:
        """A closing fact, and nothing open since (a reroute's new offer reopens it)."""
        if state.closing_at is None:
            return False
        return not any(
            (r := self.referrals.get(rid)) is not None and r.status in OPEN_STATUSES
            for rid in state.referrals
        )

    def _closed(self, state: OpportunityState, at: datetime | None) -> None:
        """Note a closing fact at ``at``; schedule the opportunity's expiry once it is closed."""
        if at is not None and (state.closing_at is None or at > state.closing_at):
            state.closing_at = at
        self._review(state)

    def _review(self, state: OpportunityState) -> None:
        if self.retention is not None and state.closing_at is not None and self.is_closed(state):
            key = opportunity_key(state.originator, state.opportunity_id)
            heapq.heappush(self._closing, (state.closing_at, key))

    def expire(self, now: datetime) -> int:
        """Forget the opportunities closed ``closed_retention_s`` before ``now`` (with their
        referrals); how many. Cheap when nothing is due (a heap of closing times)."""
        if self.retention is None:
            return 0
        cutoff, forgotten = now - self.retention, 0
        while self._closing and self._closing[0][0] <= cutoff:
            closed_at, key = heapq.heappop(self._closing)
            state = self.opportunities.get(key)
            if state is None or state.closing_at != closed_at or not self.is_closed(state):
                continue  # gone already, closed again later (a newer entry), or reopened
            self._forget(key, state)
            forgotten += 1
        self.forgotten += forgotten
        return forgotten

    def _forget(self, key: str, state: OpportunityState) -> None:
        for rid in state.referrals:
            referral = self.referrals.pop(rid, None)
            if referral is None:
                continue
            held = self.by_partner.get(referral.partner_id)
            if held is not None:
                held.pop(rid, None)
                if not held:
                    del self.by_partner[referral.partner_id]
        del self.opportunities[key]

    def _opportunity(self, originator: str, opportunity_id: str) -> OpportunityState:
        k = opportunity_key(originator, opportunity_id)
        state = self.opportunities.get(k)
        if state is None:
            state = self.opportunities[k] = OpportunityState(originator, opportunity_id)
        return state

    def _team(self, event: TeamPlanned | TeamAssembled | TeamIncomplete) -> None:
        state = self._opportunity(event.originator, event.opportunity_id)
        team = state.team = state.team or TeamView()
        if isinstance(event, TeamPlanned):
            team.planned(event)
        elif isinstance(event, TeamAssembled):
            team.status = "assembled"
        else:
            team.status = "incomplete"
            for role in team.roles:
                role["unfilled"] = event.reasons.get("+".join(role["needs"]), role["unfilled"])
        self._notice(event)

    def _assembled(self, event: LeadAssembled) -> list[Referral]:
        """A member's news that its team is assembled: the others, with their names."""
        referral = self.referrals.get(event.referral_id)
        if referral is None or referral.partner_id != event.partner_id or referral.members:
            return []
        referral.members = [
            {"partner_id": m.partner_id, "name": self._name(m.partner_id), "needs": list(m.needs)}
            for m in event.members
        ]
        return self._touch(referral)

    def _name(self, partner_id: str) -> str | None:
        profile = self.profiles.get(partner_id)
        return profile.name if profile is not None else None

    def _prime(self, originator: str) -> dict[str, Any]:
        profile = self.profiles.get(originator)
        contact = profile.contact if profile is not None else None
        return {
            "partner_id": originator,
            "name": self._name(originator),
            "contact": contact.model_dump(mode="json") if contact is not None else None,
        }

    def _touch(self, referral: Referral) -> list[Referral]:
        self.seq += 1
        referral.seq = self.seq
        return [referral]

    def _offer(self, offer: OfferMade) -> list[Referral]:
        existing = self.referrals.get(offer.referral_id)
        if existing is not None:
            return []  # a replayed offer: the ledger already moved on from it
        referral = Referral(offer=offer, updated_at=offer.offered_at)
        self.referrals[offer.referral_id] = referral
        self.by_partner.setdefault(offer.partner_id, {})[offer.referral_id] = referral
        state = self._opportunity(offer.originator, offer.opportunity_id)
        state.referrals.append(offer.referral_id)
        if offer.team is not None:  # a role's next offer (its waterfall)
            state.team = state.team or TeamView()
            referrals = state.team.role(offer.team.role)["referrals"]
            if offer.referral_id not in referrals:
                referrals.append(offer.referral_id)
        return self._touch(referral)

    def _ledger(self, event: BaseModel, at: datetime | None = None) -> list[Referral]:
        referral_id = getattr(event, "referral_id", None)
        if not isinstance(referral_id, str):
            changed = self._notice(event)
            if isinstance(event, CLOSING_NOTICES):
                state = self._opportunity(event.originator, event.opportunity_id)
                self._closed(state, event.at)
            return changed
        referral = self.referrals.get(referral_id)
        if referral is None:
            return []
        if isinstance(event, LeadRevealed):
            if referral.customer is not None:
                return []
            referral.customer = event.customer
            referral.deal_size = event.deal_size
            referral.title = event.title
            if referral.offer.team is not None:  # the originator is the prime of the team
                referral.prime = self._prime(referral.offer.originator)
            return self._touch(referral) if referral.status in REVEALED_STATUSES else []
        status, when, outcome = _transition(event)
        if status is None or referral.status not in _FROM[status]:
            return []
        referral.status = status
        referral.updated_at = when
        referral.outcome = outcome
        opportunity = self.opportunities.get(referral.opportunity_key)
        if opportunity is not None:
            if status in CLOSED_STATUSES:
                self._closed(opportunity, at or when)
            elif status not in OPEN_STATUSES:
                self._review(opportunity)  # its last open referral may have closed
        return self._touch(referral)

    def _notice(self, event: BaseModel) -> list[Referral]:
        """Facts about an opportunity as a whole (conflict flagged or resolved, waiting, exhausted,
        unroutable, reroute requested): for its originator and the operator."""
        originator = getattr(event, "originator", None)
        opportunity_id = getattr(event, "opportunity_id", None)
        if isinstance(originator, str) and isinstance(opportunity_id, str):
            state = self._opportunity(originator, opportunity_id)
            # a reroute carries the whole opportunity again: the notice keeps only the request
            fields = event.model_dump(mode="json", exclude={"opportunity"})
            notice = {"type": _snake(type(event).__name__), **fields}
            for name in _DAY_ONLY:  # another partner's timing: the day, never finer
                if isinstance(notice.get(name), str):
                    notice[name] = notice[name][:10] + "T00:00:00Z"
            if notice not in state.notices:
                state.notices.append(notice)
        return []


_DAY_ONLY = ("first_registered_at",)


def _transition(event: BaseModel) -> tuple[str | None, datetime | None, dict[str, Any]]:
    if isinstance(event, ReferralAccepted):
        return "accepted", event.accepted_at, {}
    if isinstance(event, ReferralDeclined):
        return "declined", event.declined_at, {"reason": event.reason, "note": event.note}
    if isinstance(event, ReferralExpired):
        return "expired", event.expired_at, {}
    if isinstance(event, ReferralWithdrawn):
        return "withdrawn", event.withdrawn_at, {"reason": event.reason}
    if isinstance(event, ReferralWon):
        return "won", event.won_at, {"amount": event.amount.model_dump(mode="json")}
    if isinstance(event, ReferralLost):
        return "lost", event.lost_at, {"reason": event.reason, "note": event.note}
    return None, None, {}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
