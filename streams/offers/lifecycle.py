"""The offer lifecycle of one opportunity as pure functions: the waterfall and its deadlines.

An opportunity holds at most ``max_partners`` open referrals (offered or accepted) at once. A decline
or an expiry frees a slot, which goes to the next candidate of a fresh ranking that leaves out every
partner already tried; acceptance reveals the customer to that partner only; a withdrawal closes
every open referral. When no candidate is left and nothing is open, the opportunity *waits* if the
caller says somebody may yet take it (``fill(..., wait_until=...)``: only capacity, or no partner
yet, stands in the way), else it is *unroutable* (never offered) or *exhausted* (everyone offered
declined or let the offer expire). A conflict-flagged opportunity stays in ``conflict`` until the
operator's decision (:func:`resolve`); the originator may re-open an exhausted or unroutable one
(:func:`reopen`), the partners already tried staying out.

Every function returns a new ``OpportunityState`` plus the effects to publish, in order; the agent
persists the state and emits the effects. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from streams.ledger.machine import (
    Applied,
    Command,
    Referral,
    Rejected,
    Status,
    Unchanged,
    apply,
)
from streams.offers.team_state import (
    TeamAssembledFx,
    TeamIncompleteFx,
    TeamPlannedFx,
    TeamState,
)

__all__ = [
    "Candidate",
    "Effect",
    "Exhausted",
    "Moved",
    "Offered",
    "OpportunityState",
    "Refused",
    "Revealed",
    "Step",
    "Waiting",
    "due_referrals",
    "fill",
    "reopen",
    "replay",
    "resolve",
    "respond",
    "withdraw",
]

Phase = Literal["open", "waiting", "withdrawn", "exhausted", "unroutable", "conflict", "rejected"]


@dataclass(frozen=True)
class Candidate:
    """A ranked partner for an opportunity, with the explanation of its rank."""

    partner_id: str
    score: float
    reasons: tuple[Any, ...] = ()  # JSON-ready explanations (ScoreReason dicts)


@dataclass(frozen=True)
class OpportunityState:
    key: str
    originator: str
    opportunity_id: str
    max_partners: int
    ttl_s: float
    phase: Phase = "open"
    referrals: tuple[Referral, ...] = ()
    opened_at: float = 0.0
    rounds: int = 0
    wait_until: float = 0.0  # waiting: when it stops waiting (epoch seconds)
    check_at: float = 0.0  # waiting: when the router looks for a partner again
    team: TeamState | None = None  # a team opportunity: its roles (streams/offers/team.py)

    @property
    def open_referrals(self) -> tuple[Referral, ...]:
        return tuple(r for r in self.referrals if r.open)

    @property
    def tried(self) -> frozenset[str]:
        return frozenset(r.partner_id for r in self.referrals)

    def referral(self, referral_id: str) -> Referral | None:
        for r in self.referrals:
            if r.referral_id == referral_id:
                return r
        return None

    def holds_a_win(self) -> bool:
        return any(r.status in (Status.ACCEPTED, Status.WON, Status.LOST) for r in self.referrals)

    def to_dict(self) -> dict[str, Any]:
        data = self._to_dict()
        if self.team is not None:
            data["team"] = self.team.to_dict()
        return data

    def _to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "originator": self.originator,
            "opportunity_id": self.opportunity_id,
            "max_partners": self.max_partners,
            "ttl_s": self.ttl_s,
            "phase": self.phase,
            "opened_at": self.opened_at,
            "rounds": self.rounds,
            "wait_until": self.wait_until,
            "check_at": self.check_at,
            "referrals": [_referral_to_dict(r) for r in self.referrals],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpportunityState:
        return cls(
            key=data["key"],
            originator=data["originator"],
            opportunity_id=data["opportunity_id"],
            max_partners=int(data["max_partners"]),
            ttl_s=float(data["ttl_s"]),
            phase=data["phase"],
            opened_at=float(data.get("opened_at", 0.0)),
            rounds=int(data.get("rounds", 0)),
            wait_until=float(data.get("wait_until", 0.0)),
            check_at=float(data.get("check_at", 0.0)),
            referrals=tuple(_referral_from_dict(r) for r in data["referrals"]),
            team=TeamState.from_dict(data["team"]) if data.get("team") else None,
        )


def _referral_to_dict(r: Referral) -> dict[str, Any]:
    return {
        "referral_id": r.referral_id,
        "opportunity_key": r.opportunity_key,
        "partner_id": r.partner_id,
        "status": r.status.value,
        "offered_at": r.offered_at,
        "expires_at": r.expires_at,
        "updated_at": r.updated_at,
        "score": r.score,
        "reasons": list(r.reasons),
        "rank": r.rank,
        "round": r.round,
        "reason": r.reason,
        "note": r.note,
        "amount": None if r.amount is None else str(r.amount),
        "currency": r.currency,
        "accepted_at": r.accepted_at,
    }


def _referral_from_dict(d: dict[str, Any]) -> Referral:
    return Referral(
        referral_id=d["referral_id"],
        opportunity_key=d["opportunity_key"],
        partner_id=d["partner_id"],
        status=Status(d["status"]),
        offered_at=float(d["offered_at"]),
        expires_at=float(d["expires_at"]),
        updated_at=float(d["updated_at"]),
        score=float(d.get("score", 0.0)),
        reasons=tuple(d.get("reasons", ())),
        rank=int(d.get("rank", 1)),
        round=int(d.get("round", 1)),
        reason=d.get("reason"),
        note=d.get("note"),
        amount=None if d.get("amount") is None else Decimal(d["amount"]),
        currency=d.get("currency"),
        accepted_at=d.get("accepted_at"),
    )


# ---- effects: what the agent publishes --------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    referral: Referral


@dataclass(frozen=True)
class Moved:
    """A referral changed status (accepted, declined, expired, won, lost, withdrawn)."""

    referral: Referral
    previous: Status


@dataclass(frozen=True)
class Revealed:
    """The customer's details go to this referral's partner (it accepted)."""

    referral: Referral


@dataclass(frozen=True)
class Exhausted:
    """No partner is left to offer the opportunity to, and none holds it (``tried`` 0: it was
    never offered, unroutable; else exhausted, with how the offers ended)."""

    reason: str
    tried: int
    rounds: int = 1
    declined: int = 0
    expired: int = 0


@dataclass(frozen=True)
class Waiting:
    """Nobody can take the opportunity yet; it waits until ``until`` (epoch seconds)."""

    until: float
    tried: int


@dataclass(frozen=True)
class Refused:
    """An illegal request: published to the dead-letter topic with the reason; nothing changed."""

    referral_id: str | None
    reason: str


Effect = (
    Offered
    | Moved
    | Revealed
    | Exhausted
    | Waiting
    | Refused
    | TeamPlannedFx
    | TeamAssembledFx
    | TeamIncompleteFx
)


@dataclass(frozen=True)
class Step:
    state: OpportunityState
    effects: tuple[Effect, ...] = field(default=())


ReferralIdOf = Callable[[str], str]  # partner_id -> stable referral id


def fill(
    state: OpportunityState,
    candidates: Sequence[Candidate],
    now: float,
    referral_id_of: ReferralIdOf,
    *,
    wait_until: float | None = None,
) -> Step:
    """Offer free slots to the best untried candidates.

    When none is left and nothing is open: waiting if ``wait_until`` is after ``now`` (the caller
    knows somebody may yet take it), else unroutable (never offered) or exhausted.
    """
    if state.phase not in ("open", "waiting"):
        return Step(state)
    free = state.max_partners - len(state.open_referrals)
    tried = state.tried
    new: list[Referral] = []
    wave = state.rounds + 1
    for rank, cand in enumerate(candidates, start=1):
        if free <= 0:
            break
        if cand.partner_id in tried or cand.partner_id == state.originator:
            continue
        tried = tried | {cand.partner_id}
        new.append(
            Referral(
                referral_id=referral_id_of(cand.partner_id),
                opportunity_key=state.key,
                partner_id=cand.partner_id,
                status=Status.OFFERED,
                offered_at=now,
                expires_at=now + state.ttl_s,
                updated_at=now,
                score=cand.score,
                reasons=cand.reasons,
                rank=rank,
                round=wave,
            )
        )
        free -= 1
    effects: list[Effect] = [Offered(r) for r in new]
    state = replace(
        state, referrals=state.referrals + tuple(new), rounds=wave if new else state.rounds
    )
    if new or state.open_referrals or state.holds_a_win():
        return Step(replace(state, phase="open", wait_until=0.0, check_at=0.0), tuple(effects))
    if wait_until is not None and now < wait_until:
        if state.phase != "waiting":  # told once; a repeated check changes only the times
            effects.append(Waiting(wait_until, len(state.referrals)))
        return Step(replace(state, phase="waiting", wait_until=wait_until), tuple(effects))
    statuses = [r.status for r in state.referrals]
    if state.referrals:
        state = replace(state, phase="exhausted", wait_until=0.0, check_at=0.0)
        why = "every eligible partner passed"
    else:
        state = replace(state, phase="unroutable", wait_until=0.0, check_at=0.0)
        why = "no eligible partner"
    effects.append(
        Exhausted(
            why,
            len(state.referrals),
            max(1, state.rounds),
            declined=statuses.count(Status.DECLINED),
            expired=statuses.count(Status.EXPIRED),
        )
    )
    return Step(state, tuple(effects))


def resolve(state: OpportunityState, decision: Literal["route", "reject"]) -> OpportunityState:
    """The operator's decision on a conflict: ``open`` (to be filled) or ``rejected``; a state
    that is not in conflict (already decided, withdrawn) is returned unchanged."""
    if state.phase != "conflict":
        return state
    return replace(state, phase="open" if decision == "route" else "rejected")


def reopen(state: OpportunityState, ttl_s: float) -> OpportunityState:
    """An exhausted or unroutable opportunity re-opened by its originator (to be filled; the
    partners already tried stay out); any other state is returned unchanged."""
    if state.phase not in ("exhausted", "unroutable"):
        return state
    rounds = max(state.rounds, max((r.round for r in state.referrals), default=0))
    return replace(state, phase="open", ttl_s=ttl_s, rounds=rounds)


def _replace_referral(state: OpportunityState, referral: Referral) -> OpportunityState:
    return replace(
        state,
        referrals=tuple(
            referral if r.referral_id == referral.referral_id else r for r in state.referrals
        ),
    )


def respond(state: OpportunityState, referral_id: str, command: Command) -> tuple[Step, bool]:
    """Apply a partner's response or the deadline to one referral.

    Returns the step and whether a slot was freed (the caller then re-ranks and calls ``fill``).
    """
    referral = state.referral(referral_id)
    if referral is None:
        return Step(state, (Refused(referral_id, f"unknown referral {referral_id}"),)), False
    outcome = apply(referral, command)
    if isinstance(outcome, Unchanged):
        if command.kind == "expire":
            return Step(state), False  # the timer raced a response: nothing happened
        return Step(state, replay(referral)), False
    if isinstance(outcome, Rejected):
        return Step(state, (Refused(referral_id, outcome.reason),)), False
    assert isinstance(outcome, Applied)
    changed = outcome.referral
    effects: list[Effect] = [Moved(changed, outcome.previous)]
    if changed.status is Status.ACCEPTED:
        effects.append(Revealed(changed))
    freed = changed.status in (Status.DECLINED, Status.EXPIRED) and state.phase == "open"
    return Step(_replace_referral(state, changed), tuple(effects)), freed


def withdraw(state: OpportunityState, now: float, reason: str | None) -> Step:
    """The originator withdraws: every open referral is closed as withdrawn (idempotent)."""
    if state.phase == "withdrawn":
        return Step(state)
    effects: list[Effect] = []
    for r in state.open_referrals:
        outcome = apply(r, Command("withdraw", at=now, reason=reason))
        if isinstance(outcome, Applied):
            state = _replace_referral(state, outcome.referral)
            effects.append(Moved(outcome.referral, outcome.previous))
    return Step(replace(state, phase="withdrawn"), tuple(effects))


def replay(referral: Referral) -> tuple[Effect, ...]:
    """The effects that recorded ``referral``'s current status, for a repeated input.

    At-least-once delivery without transactions: a row can be stored while the events of the same
    step were lost in a crash. A repeated input therefore publishes those events again — the very
    same events (stable ids, times from the row), which consumers dedupe — and changes nothing.
    """
    if referral.status is Status.OFFERED:
        return (Offered(referral),)
    effects: tuple[Effect, ...] = (Moved(referral, referral.status),)
    if referral.status is Status.ACCEPTED:
        effects += (Revealed(referral),)
    return effects


def due_referrals(state: OpportunityState, now: float) -> tuple[Referral, ...]:
    """Offers whose response deadline has passed (the timer turns each into an expire command)."""
    return tuple(r for r in state.referrals if r.due(now))
