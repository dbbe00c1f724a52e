"""From bus events to the referral funnel: one ``record(envelope)`` driving metrics and the board.

Pure (no I/O): :class:`FunnelRecorder` is fed decoded events from the opportunities, referrals and
deadletter topics by :mod:`ops.funnel_feed` and calls the metrics container (streams.metrics) and the
status board (ops.status_board). The ledger is at-least-once, so repeats are recognised by a bounded
memory of what was already counted (per referral and step, per opportunity, per dead-letter origin):
the last ``memory`` steps at least (about eight minutes of a 200/s flow), twice that at most.

Latencies are measured between the events' own timestamps: publish → first offer (an opportunity's
``published_at`` and its round-1 ``offered_at``; whichever is read second completes the pair, as the
two live on different topics) and offer → acceptance per referral.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from datetime import datetime

from ops.status_board import DeadLetterNote, StatusBoard
from schemas.codec import Envelope
from schemas.events import (
    EVENT_TYPES,
    ConflictFlagged,
    DeadLetter,
    OfferMade,
    Opportunity,
    OpportunityUnroutable,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWithdrawn,
    ReferralWon,
    TeamAssembled,
    TeamIncomplete,
    TeamPlanned,
)
from schemas.fees import FeeRecorded
from schemas.ids import opportunity_key
from schemas.policy import RoutingPolicy
from streams.metrics import (
    DEAD_LETTER_REASONS,
    DECLINE_REASONS,
    OTHER,
    TOPIC_NAMES,
    UNROUTABLE_RULES,
    ReferralMetrics,
    bounded,
)
from streams.policy import PolicyBook

__all__ = ["FunnelRecorder", "primary_rule"]

_COMPONENT = re.compile(r"[a-z][a-z0-9_.-]{0,39}")


class _Bounded:
    """Remembers the last ``limit`` keys at least (``2 * limit`` at most), each with a value.

    Keys are kept by their hash, in two generations: a new key goes into the newer one, and when
    that holds ``limit`` keys the older is dropped whole and the newer takes its place. About 90
    bytes a key instead of ~250 for an ordered map of the keys themselves (measured with
    tracemalloc), so the API's memory levels off low. Two keys with the same 64-bit hash count as
    one: with ``str`` hashes salted per process (``PYTHONHASHSEED``) nobody can aim at that, and
    the cost would be one step not counted.
    """

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._new: dict[int, datetime | None] = {}
        self._old: dict[int, datetime | None] = {}

    def add(self, key: Hashable, value: datetime | None = None) -> bool:
        """Remember ``key``; False when it was already there (nothing changes then)."""
        h = hash(key)
        if h in self._new or h in self._old:
            return False
        if len(self._new) >= self._limit:
            self._old, self._new = self._new, {}
        self._new[h] = value
        return True

    def pop(self, key: Hashable) -> datetime | None:
        h = hash(key)
        if h in self._new:
            return self._new.pop(h)
        return self._old.pop(h, None)

    def __contains__(self, key: Hashable) -> bool:
        h = hash(key)
        return h in self._new or h in self._old

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


def primary_rule(event: OpportunityUnroutable) -> str:
    """The rule that excluded the most candidates (ties: alphabetical), bounded."""
    if event.candidates == 0 or not any(event.excluded.values()):
        return "no_candidates"
    rule = max(sorted(event.excluded), key=lambda r: event.excluded[r])
    return bounded(rule, UNROUTABLE_RULES)


class FunnelRecorder:
    """Counts every step of every referral once, into metrics and the status board."""

    def __init__(self, metrics: ReferralMetrics, board: StatusBoard, *, memory: int = 100_000):
        self.metrics = metrics
        self.board = board
        self.events = 0
        self._seen = _Bounded(memory)
        self._published_at = _Bounded(memory // 4)  # opportunity key -> published_at
        self._first_offer_at = _Bounded(memory // 4)  # opportunity key -> round-1 offered_at
        self._offered_at = _Bounded(memory // 4)  # referral id -> offered_at
        self.policies = PolicyBook()  # the routing policy in force, as the workers fold it

    def record(self, envelope: Envelope) -> None:
        """Apply one decoded event; events outside the funnel are ignored."""
        event = envelope.event
        self.events += 1
        if isinstance(event, Opportunity):
            self._published(event)
        elif isinstance(event, OfferMade):
            self._offered(event)
        elif isinstance(event, ReferralAccepted):
            if self._once("accepted", event.referral_id):
                self.metrics.offer_accepted()
                self.board.count("accepted", event.accepted_at)
                offered = self._offered_at.pop(event.referral_id)
                if offered is not None:
                    self.metrics.time_to_accept((event.accepted_at - offered).total_seconds())
        elif isinstance(event, ReferralDeclined):
            if self._once("declined", event.referral_id):
                self._offered_at.pop(event.referral_id)
                self.metrics.offer_declined(event.reason)
                self.board.declined(bounded(event.reason, DECLINE_REASONS), event.declined_at)
        elif isinstance(event, ReferralExpired):
            if self._once("expired", event.referral_id):
                self._offered_at.pop(event.referral_id)
                self.metrics.offer_expired()
                self.board.count("expired", event.expired_at)
        elif isinstance(event, ReferralWon):
            if self._once("won", event.referral_id):
                amount = event.amount
                self.metrics.referral_won(amount.currency, format(amount.amount, "f"))
                self.board.won(event.won_at, amount.currency, format(amount.amount, "f"))
        elif isinstance(event, ReferralLost):
            if self._once("lost", event.referral_id):
                self.metrics.referral_lost(event.reason)
                self.board.count("lost", event.lost_at)
        elif isinstance(event, ReferralWithdrawn):
            if self._once("withdrawn", event.referral_id):
                self._offered_at.pop(event.referral_id)
                self.metrics.referral_withdrawn()
                self.board.count("withdrawn", event.withdrawn_at)
        elif isinstance(event, OpportunityUnroutable):
            key = opportunity_key(event.originator, event.opportunity_id)
            if self._once("unroutable", (key, event.round)):
                rule = primary_rule(event)
                self.metrics.unroutable(rule)
                self.board.unroutable(rule, event.at)
        elif isinstance(event, ConflictFlagged) and not event.holds_claim:
            if self._once("conflict", opportunity_key(event.originator, event.opportunity_id)):
                self.metrics.conflict_flagged()
                self.board.count("conflicts", event.flagged_at)
        elif isinstance(event, TeamPlanned | TeamAssembled | TeamIncomplete):
            self._team(event)
        elif isinstance(event, DeadLetter):
            self._dead_letter(event, envelope.id)
        elif isinstance(event, FeeRecorded):
            if self._once("fee", event.event_id):
                self.board.fee(event.kind, event.currency, event.amount)
        elif isinstance(event, RoutingPolicy):
            if self.policies.apply(event):
                self.board.set_policy(event.version, event.applied_at)

    def _team(self, event: TeamPlanned | TeamAssembled | TeamIncomplete) -> None:
        key = opportunity_key(event.originator, event.opportunity_id)
        if isinstance(event, TeamPlanned):
            step = "planned" if event.round == 1 else "replanned"
        else:
            step = "assembled" if isinstance(event, TeamAssembled) else "incomplete"
        if self._once("team-" + step, key):
            self.metrics.team_step(step)

    def _once(self, step: str, key: Hashable) -> bool:
        return self._seen.add((step, key))

    def _published(self, event: Opportunity) -> None:
        key = opportunity_key(event.originator, event.opportunity_id)
        if not self._once("published", key):
            return
        self.metrics.opportunity_published()
        self.board.count("published", event.published_at)
        offered = self._first_offer_at.pop(key)
        if offered is not None:
            self.metrics.publish_to_offer_latency((offered - event.published_at).total_seconds())
        else:
            self._published_at.add(key, event.published_at)

    def _offered(self, event: OfferMade) -> None:
        if not self._once("offered", event.referral_id):
            return
        self.metrics.offer_sent(event.round)
        self.board.count("offered", event.offered_at)
        self._offered_at.add(event.referral_id, event.offered_at)
        key = opportunity_key(event.originator, event.opportunity_id)
        if event.round > 1 and self._once("reoffered", (key, event.round)):
            self.metrics.offer_reoffered()
            self.board.count("reoffered", event.offered_at)
        if event.round == 1 and self._once("first-offer", key):
            published = self._published_at.pop(key)
            if published is not None:
                seconds = (event.offered_at - published).total_seconds()
                self.metrics.publish_to_offer_latency(seconds)
            else:
                self._first_offer_at.add(key, event.offered_at)

    def _dead_letter(self, event: DeadLetter, envelope_id: str) -> None:
        origin: Hashable = (
            (event.source_topic, event.partition, event.offset)
            if event.offset >= 0
            else envelope_id
        )
        if not self._once("dead", origin):
            return
        reason = bounded(event.reason, DEAD_LETTER_REASONS)
        self.metrics.dead_lettered(reason)
        topic = event.source_topic.rpartition(".")[2]
        self.board.dead_letter(
            DeadLetterNote(
                at=event.at,
                reason=reason,
                source_topic=bounded(topic, TOPIC_NAMES),
                partition=event.partition,
                offset=event.offset,
                event_type=event.event_type if event.event_type in EVENT_TYPES else OTHER,
                consumer=event.consumer if _COMPONENT.fullmatch(event.consumer) else OTHER,
            )
        )
