"""What the router does with each kind of input, over the batch's ``Pending`` rows.

Inputs (all keyed by the opportunity key, so one opportunity's state is on one partition):
``Opportunity`` (route it), ``OpportunityWithdrawn`` (cancel open offers), ``AcceptReferral`` /
``DeclineReferral`` / ``ReportOutcome`` (a partner's response), ``ConflictResolved`` (the
operator's decision on a conflict), ``RerouteRequested`` (the originator re-opens an exhausted or
unroutable opportunity) and the deadline timer's ticks (offers past their deadline, and waiting
opportunities to look at again, ``streams/router/waiting.py``). Withdrawing or closing an
opportunity releases its customer claims at once. A team opportunity (``team: true``) is planned
by ``team_planner`` and each role moves on its own (``streams/offers/team.py``, docs/teaming.md).
Each handler returns the records to publish; a refused input raises ``Refusal`` (the error policy
dead-letters it) and changes nothing. A closed opportunity's row is stored as a compact marker kept
for ``closed_retention_s`` (``streams/offers/closed.py``), which answers late inputs as the full row
did; the deadline tick at the end of the retention deletes it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

import orjson

from schemas.codec import validate_stored
from schemas.events import (
    AcceptReferral,
    ConflictResolved,
    DeclineReferral,
    Opportunity,
    OpportunityWithdrawn,
    ReportOutcome,
    RerouteRequested,
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
    reopen,
    replay,
    resolve,
    respond,
    withdraw,
)
from streams.offers.store import Pending, Row
from streams.offers.team import PlanRoles, retold, start_team, team_after_response
from streams.router.claims import ClaimRegistry
from streams.router.emit import (
    Out,
    TermsOf,
    claim_holder_event,
    conflict_event,
    effect_events,
    replayed_moves,
)
from streams.router.waiting import waiting_reasons, waits_until
from streams.routing.team import NoTeam, TeamPlan

__all__ = ["Ranker", "Ranking", "Router", "TeamPlanner"]


@dataclass(frozen=True)
class Ranking:
    candidates: list[Candidate]
    excluded: dict[str, int] = field(default_factory=dict)
    considered: int = 0


# (opportunity, partners to leave out, now) -> the ranked eligible partners
Ranker = Callable[[Opportunity, frozenset[str], float], Ranking]
Response = AcceptReferral | DeclineReferral | ReportOutcome
# (opportunity, needs to plan or None for all, members kept, partners to leave out, now) -> a team
TeamPlanner = Callable[
    [Opportunity, tuple[str, ...] | None, Collection[str], frozenset[str], float],
    TeamPlan | NoTeam,
]


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
        waiting_recheck_s: float = 60.0,
        terms_of: TermsOf | None = None,
        team_planner: TeamPlanner | None = None,
    ) -> None:
        self.ranker = ranker
        self.team_planner = team_planner  # plans team opportunities (None: routed one by one)
        self.policy_version = policy_version  # recorded on every offer
        self.terms_of = terms_of  # the terms each offer carries (None: no fees)
        self.claims = claims
        self.ttl_s = ttl_s
        self.claims_topic = claims_topic
        self.closed_retention_s = closed_retention_s
        self.waiting_recheck_s = waiting_recheck_s

    # -- opportunities ---------------------------------------------------------------------------
    def on_opportunity(
        self, opp: Opportunity, data: bytes, pending: Pending, now: float
    ) -> list[Out]:
        key_s = opportunity_key(opp.originator, opp.opportunity_id)
        key = key_s.encode()
        known = pending.get(key)
        if known is not None:  # published again: nothing changes; replay its open offers
            # ... and its customer claims: a crash after its row was stored may have lost them
            # (registering again at the same time changes nothing when they are known), unless it
            # never held one (flagged) or gave it up (closed: released).
            records: list[Out] = []
            if not known.closed and known.state.phase != "conflict":
                _, claims = self.claims.register(opp, key_s, opp.published_at.timestamp())
                records = [Out(self.claims_topic, ck, cv, []) for ck, cv in claims]
            if known.closed:  # a closed marker: nothing open to replay, the marker stays as is
                return records
            effects = tuple(e for r in known.state.open_referrals for e in replay(r))
            effects = retold(known.state) + effects  # a team's events too
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
        if conflict is not None:  # both originators are told; neither learns the other
            pending.put(key, self._row(_conflicted(state), data, now))
            c = conflict
            records.append(conflict_event(opp, key, c.domain, c.needs, c.first_at, now))
            if c.first_key:
                records.append(
                    claim_holder_event(c.first_key, key_s, c.domain, c.needs, c.first_at, now)
                )
            return records
        records.extend(self._route(state, opp, key, data, pending, now))
        return records

    def on_resolved(self, event: ConflictResolved, pending: Pending, now: float) -> list[Out]:
        """The operator's decision on a conflict-flagged opportunity (a repeat changes nothing)."""
        key = opportunity_key(event.originator, event.opportunity_id).encode()
        row = pending.get(key)
        if row is None:
            raise Refusal(
                f"unknown opportunity {key.decode()}: no conflict to resolve",
                code="unknown_opportunity",
            )
        if row.closed or row.state.phase != "conflict":
            return []  # decided already, or withdrawn meanwhile
        opp = validate_stored(Opportunity, row.opportunity)
        state = resolve(row.state, event.decision)
        if state.phase == "rejected":
            return self._publish(Step(state), opp, key, row.opportunity, pending, now)
        return self._route(state, opp, key, row.opportunity, pending, now)

    def on_reroute(self, event: RerouteRequested, pending: Pending, now: float) -> list[Out]:
        """The originator re-opens its exhausted or unroutable opportunity; a waiting one is looked
        at again now; anything else changes nothing."""
        opp = event.opportunity
        if (opp.originator, opp.opportunity_id) != (event.originator, event.opportunity_id):
            raise Refusal("the reroute carries another opportunity", code="invalid_reroute")
        key_s = opportunity_key(opp.originator, opp.opportunity_id)
        key = key_s.encode()
        row = pending.get(key)
        ttl_s = float(opp.respond_within_s or self.ttl_s)
        if row is None:  # forgotten after its retention: routed afresh
            state = OpportunityState(
                key_s, opp.originator, opp.opportunity_id, opp.max_partners, ttl_s, opened_at=now
            )
            return self._route(state, opp, key, _data(opp), pending, now)
        if row.state.phase == "waiting":
            return self._route(row.state, opp, key, row.opportunity, pending, now)
        state = reopen(row.state, ttl_s)
        if not row.closed or state.phase != "open":  # open, in conflict, or closed for good
            return []
        return self._route(state, opp, key, _data(opp), pending, now)

    def on_withdrawn(self, event: OpportunityWithdrawn, pending: Pending, now: float) -> list[Out]:
        key = opportunity_key(event.originator, event.opportunity_id).encode()
        row = pending.get(key)
        if row is None:
            raise Refusal(
                f"unknown opportunity {key.decode()}: nothing to withdraw",
                code="unknown_opportunity",
            )
        if row.closed:  # nothing open to withdraw (its claims went when it closed): no output
            return []
        opp = validate_stored(Opportunity, row.opportunity)
        step = withdraw(row.state, event.withdrawn_at.timestamp(), event.reason)
        return self._publish(step, opp, key, row.opportunity, pending, now)

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
        opp = validate_stored(Opportunity, row.opportunity)
        records = self._expire_due(row, opp, key, pending, now)  # a deadline is strict
        row = pending.get(key) or row
        step, freed = respond(row.state, cmd.referral_id, _command(cmd))
        _refuse(step, records)  # an expiry that happened first is still published
        if step.state is row.state and step.effects:  # a repeat: its team's events again too
            step = Step(step.state, step.effects + retold(step.state))
        ranking = None
        if freed or step.state.team is not None:  # a team also moves on an acceptance
            step, ranking = self._refill(step, opp, now)
        records.extend(self._publish(step, opp, key, row.opportunity, pending, now, ranking))
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
        opp = validate_stored(Opportunity, row.opportunity)
        if row.state.phase == "waiting":  # due, or woken by a changed profile or load
            return self._route(row.state, opp, key, row.opportunity, pending, now)
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
        step, ranking = self._refill(Step(state, tuple(effects)), opp, now)  # type: ignore[arg-type]
        return self._publish(step, opp, key, row.opportunity, pending, now, ranking)

    # -- helpers ---------------------------------------------------------------------------------
    def _route(
        self,
        state: OpportunityState,
        opp: Opportunity,
        key: bytes,
        data: bytes,
        pending: Pending,
        now: float,
    ) -> list[Out]:
        """Rank (leaving out the partners tried) and fill: offers, waiting, or given up."""
        if opp.team and self.team_planner is not None:  # plan the team, offer every role
            plan = self.team_planner(opp, None, (), state.tried, now)
            step = start_team(state, plan, now, _ids(opp))
            return self._publish(step, opp, key, data, pending, now)
        ranking = self.ranker(opp, state.tried, now)
        wait = waits_until(opp, ranking, now)
        step = fill(state, ranking.candidates, now, _ids(opp), wait_until=wait)
        return self._publish(self._rechecked(step, now), opp, key, data, pending, now, ranking)

    def _refill(self, step: Step, opp: Opportunity, now: float) -> tuple[Step, Ranking | None]:
        if step.state.phase != "open":
            return step, None
        if step.state.team is not None:  # each role has its own waterfall (streams/offers/team)
            return team_after_response(step, now, self._plan_roles(opp, now), _ids(opp)), None
        ranking = self.ranker(opp, step.state.tried, now)
        wait = waits_until(opp, ranking, now)
        more = self._rechecked(
            fill(step.state, ranking.candidates, now, _ids(opp), wait_until=wait), now
        )
        return Step(more.state, step.effects + more.effects), ranking

    def _plan_roles(self, opp: Opportunity, now: float) -> PlanRoles:
        planner = self.team_planner

        def plan(
            needs: tuple[str, ...], kept: frozenset[str], tried: frozenset[str]
        ) -> TeamPlan | NoTeam:
            if planner is None:
                return NoTeam({"+".join(needs): "teams are not planned by this router"})
            return planner(opp, needs, kept, tried, now)

        return plan

    def _rechecked(self, step: Step, now: float) -> Step:
        """A waiting state gets the time of its next look (never after it stops waiting)."""
        if step.state.phase != "waiting":
            return step
        check_at = min(now + self.waiting_recheck_s, step.state.wait_until)
        return Step(replace(step.state, check_at=check_at), step.effects)

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
            waiting=waiting_reasons(ranking) if ranking else None,
            terms_of=self.terms_of,
            team=step.state.team,
        )
        del refused  # only respond() refuses, and on_response handles that before publishing
        pending.put(key, self._row(step.state, data, now))
        if is_closed(step.state):  # withdrawn or closed: its customer claims go at once
            key_s = key.decode()
            records.extend(
                Out(self.claims_topic, ck, cv, []) for ck, cv in self.claims.release(opp, key_s)
            )
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


def _data(opp: Opportunity) -> bytes:
    """The stored form of an opportunity that did not arrive as its own event (a reroute)."""
    return orjson.dumps(opp.model_dump(mode="json"))


def _conflicted(state: OpportunityState) -> OpportunityState:
    return replace(state, phase="conflict")


def _ids(opp: Opportunity) -> Callable[[str], str]:
    def of(partner_id: str) -> str:
        return referral_id(opp.originator, opp.opportunity_id, partner_id)

    return of
