"""What the router does with each kind of input, over the batch's ``Pending`` rows.

Inputs (all keyed by the opportunity key, so one opportunity's state is on one partition):
``Opportunity`` (route it), ``OpportunityWithdrawn`` (cancel open offers), ``AcceptReferral`` /
``DeclineReferral`` / ``ReportOutcome`` (a partner's response) and the deadline timer's ticks.
Each handler returns the records to publish; a refused input raises ``Refusal`` (the error policy
dead-letters it) and changes nothing. A closed opportunity's row is stored as a compact marker kept
for ``closed_retention_s`` (``streams/offers/closed.py``), which answers late inputs as the full row
did; the deadline tick at the end of the retention deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from schemas.events import (
    AcceptReferral,
    DeclineReferral,
    Opportunity,
    OpportunityWithdrawn,
    ReportOutcome,
)
from schemas.ids import opportunity_key, referral_id
from streams.deadletter import Refusal
from streams.ledger.machine import Command
from streams.offers.closed import compact, is_closed
from streams.offers.lifecycle import (
    Candidate,
    OpportunityState,
    Refused,
    Step,
    due_referrals,
    fill,
    replay,
    respond,
    withdraw,
)
from streams.offers.store import Pending, Row
from streams.router.claims import ClaimRegistry
from streams.router.emit import Out, conflict_event, effect_events, replayed_moves

__all__ = ["Ranker", "Ranking", "Router"]


@dataclass(frozen=True)
class Ranking:
    candidates: list[Candidate]
    excluded: dict[str, int] = field(default_factory=dict)
    considered: int = 0


# (opportunity, partners to leave out, now) -> the ranked eligible partners
Ranker = Callable[[Opportunity, frozenset[str], float], Ranking]
Response = AcceptReferral | DeclineReferral | ReportOutcome


class Router:
    """The router's decisions; the agent feeds it decoded events and publishes what it returns."""

    def __init__(
        self,
        ranker: Ranker,
        claims: ClaimRegistry,
        *,
        ttl_s: float,
        claims_topic: str = "customer-claims",
        closed_retention_s: float = 30 * 86_400.0,
        policy_version: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.ranker = ranker
        self.policy_version = policy_version  # recorded on every offer
        self.claims = claims
        self.ttl_s = ttl_s
        self.claims_topic = claims_topic
        self.closed_retention_s = closed_retention_s

    # -- opportunities ---------------------------------------------------------------------------
    def on_opportunity(
        self, opp: Opportunity, data: bytes, pending: Pending, now: float
    ) -> list[Out]:
        key_s = opportunity_key(opp.originator, opp.opportunity_id)
        key = key_s.encode()
        known = pending.get(key)
        if known is not None:  # published again: nothing changes; replay its open offers
            # ... and its customer claims: a crash after its row was stored may have lost them
            # (registering again at the same time changes nothing when they are known).
            _, claims = self.claims.register(opp, key_s, opp.published_at.timestamp())
            records = [Out(self.claims_topic, ck, cv, []) for ck, cv in claims]
            if known.closed:  # a closed marker: nothing open to replay, the marker stays as is
                return records
            effects = tuple(e for r in known.state.open_referrals for e in replay(r))
            records.extend(
                self._publish(Step(known.state, effects), opp, key, known.opportunity, pending, now)
            )
            return records
        state = OpportunityState(
            key=key_s,
            originator=opp.originator,
            opportunity_id=opp.opportunity_id,
            max_partners=opp.max_partners,
            ttl_s=float(opp.respond_within_s or self.ttl_s),
            opened_at=now,
        )
        conflict, claims = self.claims.register(opp, key_s, opp.published_at.timestamp())
        records = [Out(self.claims_topic, ck, cv, []) for ck, cv in claims]
        if conflict is not None:
            pending.put(key, self._row(_conflicted(state), data, now))
            records.append(
                conflict_event(opp, key, conflict.domain, conflict.needs, conflict.first_at, now)
            )
            return records
        ranking = self.ranker(opp, frozenset(), now)
        step = fill(state, ranking.candidates, now, _ids(opp))
        records.extend(self._publish(step, opp, key, data, pending, now, ranking))
        return records

    def on_withdrawn(self, event: OpportunityWithdrawn, pending: Pending, now: float) -> list[Out]:
        key = opportunity_key(event.originator, event.opportunity_id).encode()
        row = pending.get(key)
        if row is None:
            raise Refusal(
                f"unknown opportunity {key.decode()}: nothing to withdraw",
                code="unknown_opportunity",
            )
        withdrawn_at = event.withdrawn_at.timestamp()
        if row.closed:  # nothing open to withdraw: nothing published, as before the marker
            return self._released(key, withdrawn_at, None)  # ... but a fresh claim goes
        opp = Opportunity.model_validate_json(row.opportunity)
        records = self._released(key, withdrawn_at, opp)
        step = withdraw(row.state, withdrawn_at, event.reason)
        return records + self._publish(step, opp, key, row.opportunity, pending, now)

    def _released(self, key: bytes, withdrawn_at: float, opp: Opportunity | None) -> list[Out]:
        released = self.claims.release(key.decode(), withdrawn_at, opp)
        return [Out(self.claims_topic, ck, cv, []) for ck, cv in released]

    # -- responses and deadlines -----------------------------------------------------------------
    def on_response(self, cmd: Response, pending: Pending, now: float) -> list[Out]:
        key = opportunity_key(cmd.originator, cmd.opportunity_id).encode()
        row = pending.get(key)
        if row is None:
            raise Refusal(
                f"unknown opportunity {key.decode()} for referral {cmd.referral_id}",
                code="unknown_opportunity",
            )
        held = row.state.referral(cmd.referral_id)
        if held is None or held.partner_id != cmd.partner_id:
            raise Refusal(
                f"referral {cmd.referral_id} is not held by partner {cmd.partner_id}",
                code="unknown_referral",
            )
        if row.closed:  # every referral is closed: a repeat is replayed, anything else refused
            step, _ = respond(row.state, cmd.referral_id, _command(cmd))
            _refuse(step, [])
            return replayed_moves(step.effects, row.state.originator, row.state.opportunity_id, key)
        opp = Opportunity.model_validate_json(row.opportunity)
        records = self._expire_due(row, opp, key, pending, now)  # a deadline is strict
        row = pending.get(key) or row
        step, freed = respond(row.state, cmd.referral_id, _command(cmd))
        _refuse(step, records)  # an expiry that happened first is still published
        if freed:
            step = self._refill(step, opp, now)
        records.extend(self._publish(step, opp, key, row.opportunity, pending, now))
        return records

    def on_tick(self, key: bytes, pending: Pending, now: float) -> list[Out]:
        """The deadline timer says offers of this opportunity may be due: expire and re-offer."""
        row = pending.get(key)
        if row is None:
            return []
        if row.closed:  # a closed marker is due when its retention ends: forget the opportunity
            if row.purge_at is not None and row.purge_at <= now:
                pending.delete(key)
            return []
        opp = Opportunity.model_validate_json(row.opportunity)
        return self._expire_due(row, opp, key, pending, now)

    def _expire_due(
        self, row: Row, opp: Opportunity, key: bytes, pending: Pending, now: float
    ) -> list[Out]:
        due = due_referrals(row.state, now)
        if not due:
            return []
        state = row.state
        effects: list[object] = []
        for referral in due:
            step, _ = respond(state, referral.referral_id, Command("expire", at=now))
            state = step.state
            effects.extend(step.effects)
        step = self._refill(Step(state, tuple(effects)), opp, now)  # type: ignore[arg-type]
        return self._publish(step, opp, key, row.opportunity, pending, now)

    # -- helpers ---------------------------------------------------------------------------------
    def _refill(self, step: Step, opp: Opportunity, now: float) -> Step:
        if step.state.phase != "open":
            return step
        ranking = self.ranker(opp, step.state.tried, now)
        more = fill(step.state, ranking.candidates, now, _ids(opp))
        return Step(more.state, step.effects + more.effects)

    def _publish(
        self,
        step: Step,
        opp: Opportunity,
        key: bytes,
        data: bytes,
        pending: Pending,
        now: float,
        ranking: Ranking | None = None,
    ) -> list[Out]:
        records, refused = effect_events(
            step.effects,
            opp,
            key,
            now=now,
            excluded=ranking.excluded if ranking else None,
            considered=ranking.considered if ranking else 0,
            policy_version=self.policy_version(),
        )
        del refused  # only respond() refuses, and on_response handles that before publishing
        pending.put(key, self._row(step.state, data, now))
        return records

    def _row(self, state: OpportunityState, data: bytes, now: float) -> Row:
        """The row to store: the full row while anything is open, else the compact marker."""
        if is_closed(state):
            return Row(compact(state), b"", now + self.closed_retention_s)
        return Row(state=state, opportunity=data)


def _command(cmd: Response) -> Command:
    at = cmd.requested_at.timestamp()
    if isinstance(cmd, AcceptReferral):
        return Command("accept", at=at)
    if isinstance(cmd, DeclineReferral):
        return Command("decline", at=at, reason=cmd.reason, note=cmd.note)
    if cmd.status == "won":
        assert cmd.amount is not None
        return Command("won", at=at, amount=cmd.amount.amount, currency=cmd.amount.currency)
    return Command("lost", at=at, reason=cmd.reason, note=cmd.note)


def _refuse(step: Step, outputs: list[Out]) -> None:
    """Raise the ``Refusal`` of a refused response (``outputs`` are still published)."""
    refused = [e for e in step.effects if isinstance(e, Refused)]
    if refused:
        code = "unknown_referral" if refused[0].reason.startswith("unknown") else None
        raise Refusal(refused[0].reason, code=code or "illegal_transition", outputs=outputs)


def _conflicted(state: OpportunityState) -> OpportunityState:
    return replace(state, phase="conflict")


def _ids(opp: Opportunity) -> Callable[[str], str]:
    def of(partner_id: str) -> str:
        return referral_id(opp.originator, opp.opportunity_id, partner_id)

    return of
