"""The pure fold of the referral ledger into per-partner aggregates (no I/O, no Faust).

Every ledger event becomes a :class:`LedgerFact` about one referral; it is folded twice, once from
the point of view of each partner involved: the *receiver* (the partner offered the lead) and the
*giver* (the originator of the opportunity). For each (partner, referral) a :class:`RefState`
remembers the status reached and the input positions (``seq``) that made each step, so that

* a fact that does not move the referral forward (a duplicate, a re-delivery after a crash, an
  older status arriving late) is a no-op: :func:`advance` returns ``None``;
* a replay of an input whose referral step was already recorded but whose aggregate update was
  lost can be re-derived from the recorded step (:func:`replayed`), and an aggregate remembers the
  highest ``seq`` folded in, so a step is never counted twice (:func:`fold` is guarded by it).

Lifecycle (DESIGN.md): offered -> accepted | declined | expired | withdrawn;
accepted -> won | lost | withdrawn. A fact that skips steps (``won`` for a referral never seen)
implies the missing ones, so a scorecard stays consistent when it starts mid-stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from streams.scorecards.timing import AcceptTimes

__all__ = [
    "STATUSES",
    "LedgerFact",
    "Pair",
    "PartnerAggregate",
    "RefState",
    "Role",
    "Status",
    "Step",
    "advance",
    "apply",
    "fold",
    "path",
    "replayed",
]

Status = Literal[
    "offered", "accepted", "declined", "expired", "won", "lost", "withdrawn", "teamed"
]  # fmt: skip
Role = Literal["giver", "receiver"]
STATUSES: tuple[Status, ...] = (
    "offered", "accepted", "declined", "expired", "won", "lost", "withdrawn",
)  # fmt: skip

# ``teamed``: not a referral's status but a member's assembled team, once per other member (its
# "referral id" is the member's referral id and the other member's id, so it folds once)
TEAMED: Status = "teamed"
Pair = tuple[int, int, int, int, int]
_GIVEN, _RECEIVED, _GIVEN_ACCEPTED, _RECEIVED_ACCEPTED, _TEAMED = range(5)
_TERMINAL = frozenset({"declined", "expired", "won", "lost", "withdrawn", "teamed"})


@dataclass(frozen=True, slots=True)
class LedgerFact:
    """What scorecards need of one ledger event: the referral, both partners, the status reached,
    when (epoch seconds), and for ``won`` the amount (a decimal string) and its currency."""

    referral_id: str
    giver: str
    receiver: str
    status: Status
    at: float
    amount: str | None = None
    currency: str | None = None

    def partner(self, role: Role) -> str:
        return self.giver if role == "giver" else self.receiver

    def counterpart(self, role: Role) -> str:
        return self.receiver if role == "giver" else self.giver


@dataclass(frozen=True, slots=True)
class RefState:
    """One referral seen from one partner: status reached and the steps that led there."""

    role: Role
    counterpart: str
    status: Status
    steps: tuple[tuple[int, Status], ...]  # (seq of the input, status reached by it)
    offered_at: float | None = None
    accepted_at: float | None = None
    amount: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """A move of one referral from ``before`` (None: unseen) to ``ref.status``, made by ``seq``."""

    before: Status | None
    ref: RefState
    seq: int
    at: float


def path(before: Status | None, target: Status) -> tuple[Status, ...] | None:
    """The statuses a referral passes through from ``before`` to ``target`` (missing steps are
    implied); ``None`` when ``target`` is not ahead of ``before`` (duplicate, stale or illegal)."""
    if before in _TERMINAL or before == target:
        return None
    if target == TEAMED:
        return (TEAMED,) if before is None else None
    if target == "offered":
        return ("offered",) if before is None else None
    if target in ("won", "lost"):
        chain: tuple[Status, ...] = ("offered", "accepted", target)
    elif target == "withdrawn" and before == "accepted":
        return ("withdrawn",)
    else:
        chain = ("offered", target)
    if before is None:
        return chain
    if before not in chain:
        return None
    return chain[chain.index(before) + 1 :]


def advance(ref: RefState | None, fact: LedgerFact, role: Role, seq: int) -> Step | None:
    """The step ``fact`` makes for this partner's view of the referral, or None (no-op)."""
    before = None if ref is None else ref.status
    if path(before, fact.status) is None:
        return None
    offered_at = ref.offered_at if ref is not None else None
    accepted_at = ref.accepted_at if ref is not None else None
    if fact.status == "offered":
        offered_at = fact.at
    elif fact.status == "accepted":
        accepted_at = fact.at
    won = fact.status == "won"
    new = RefState(
        role=role,
        counterpart=fact.counterpart(role),
        status=fact.status,
        steps=((ref.steps if ref is not None else ()) + ((seq, fact.status),)),
        offered_at=offered_at,
        accepted_at=accepted_at,
        amount=fact.amount if won else None,
        currency=fact.currency if won else None,
    )
    return Step(before=before, ref=new, seq=seq, at=fact.at)


def replayed(ref: RefState | None, seq: int, at: float) -> Step | None:
    """The step already recorded for input ``seq`` (a re-delivery after a crash), if any."""
    if ref is None:
        return None
    before: Status | None = None
    for i, (step_seq, status) in enumerate(ref.steps):
        if step_seq == seq:
            partial = replace(ref, status=status, steps=ref.steps[: i + 1])
            if status != "won":
                partial = replace(partial, amount=None, currency=None)
            return Step(before=before, ref=partial, seq=seq, at=at)
        before = status
    return None


@dataclass(frozen=True, slots=True)
class PartnerAggregate:
    """Everything a scorecard and the router need about one partner, folded from its steps."""

    partner_id: str
    seq: int = -1  # highest input position folded in (crash-replay guard)
    revision: int = 0  # number of referral steps folded in
    updated_at: float | None = None  # latest event time folded in
    given: int = 0
    given_accepted: int = 0
    given_won: int = 0
    received: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    won: int = 0
    lost: int = 0
    withdrawn: int = 0
    open_offers: int = 0  # offered, no answer yet (capacity)
    active: int = 0  # accepted, not closed yet
    accept_times: AcceptTimes = field(default_factory=AcceptTimes)
    revenue_won: dict[str, Decimal] = field(default_factory=dict)
    revenue_from_given: dict[str, Decimal] = field(default_factory=dict)
    # other partner -> (given, received, given_accepted, received_accepted, teamed): referrals
    # offered from this partner to the other and back, how many of each were accepted, and the
    # teams both were assembled in
    pairs: dict[str, Pair] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float | None:
        answered = self.accepted + self.declined + self.expired
        return self.accepted / answered if answered else None

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None


def _pair_bump(pairs: dict[str, Pair], other: str, index: int) -> dict[str, Pair]:
    counts = list(pairs.get(other, (0, 0, 0, 0, 0)))
    counts[index] += 1
    return {**pairs, other: (counts[0], counts[1], counts[2], counts[3], counts[4])}


def _add_money(book: dict[str, Decimal], amount: str | None, currency: str | None) -> None:
    if amount is not None and currency is not None:
        book[currency] = book.get(currency, Decimal(0)) + Decimal(amount)


def fold(agg: PartnerAggregate, step: Step) -> PartnerAggregate:
    """Apply one referral step to the partner's aggregate; a ``seq`` already folded is a no-op."""
    if step.seq <= agg.seq:
        return agg
    statuses = path(step.before, step.ref.status)
    if statuses is None:  # cannot happen for steps made by advance/replayed
        return agg
    counts: dict[str, int] = {}
    ref = step.ref
    times = agg.accept_times
    revenue_won = agg.revenue_won
    revenue_from_given = agg.revenue_from_given
    pairs = agg.pairs
    prev = step.before

    def bump(name: str, by: int = 1) -> None:
        counts[name] = counts.get(name, getattr(agg, name)) + by

    for status in statuses:
        if status == TEAMED:  # assembled in one team with the counterpart (member-member)
            pairs = _pair_bump(pairs, ref.counterpart, _TEAMED)
        elif ref.role == "receiver":
            if status == "offered":
                bump("received")
                bump("open_offers")
                pairs = _pair_bump(pairs, ref.counterpart, _RECEIVED)
            elif status == "accepted":
                bump("accepted")
                pairs = _pair_bump(pairs, ref.counterpart, _RECEIVED_ACCEPTED)
                bump("open_offers", -1)
                bump("active")
                if ref.offered_at is not None and ref.accepted_at is not None:
                    times = times.add(max(0.0, ref.accepted_at - ref.offered_at))
            elif status in ("declined", "expired"):
                bump(status)
                bump("open_offers", -1)
            elif status == "withdrawn":
                bump("withdrawn")
                bump("open_offers" if prev == "offered" else "active", -1)
            else:  # won / lost
                bump(status)
                bump("active", -1)
                if status == "won":
                    revenue_won = dict(revenue_won)
                    _add_money(revenue_won, ref.amount, ref.currency)
        elif status == "offered":
            bump("given")
            pairs = _pair_bump(pairs, ref.counterpart, _GIVEN)
        elif status == "accepted":
            bump("given_accepted")
            pairs = _pair_bump(pairs, ref.counterpart, _GIVEN_ACCEPTED)
        elif status == "won":
            bump("given_won")
            revenue_from_given = dict(revenue_from_given)
            _add_money(revenue_from_given, ref.amount, ref.currency)
        prev = status
    updated = step.at if agg.updated_at is None else max(agg.updated_at, step.at)
    return replace(
        agg,
        seq=step.seq,
        revision=agg.revision + len(statuses),
        updated_at=updated,
        accept_times=times,
        revenue_won=revenue_won,
        revenue_from_given=revenue_from_given,
        pairs=pairs,
        **counts,  # type: ignore[arg-type]
    )


def apply(
    ref: RefState | None, agg: PartnerAggregate, fact: LedgerFact, role: Role, seq: int
) -> tuple[RefState | None, PartnerAggregate]:
    """Fold one input (at position ``seq``) into one partner's view: the referral state to store
    (None: nothing to store) and the aggregate, unchanged when the input changes nothing."""
    step = replayed(ref, seq, fact.at)
    if step is not None:  # already recorded: only the aggregate may be missing it
        return None, fold(agg, step)
    step = advance(ref, fact, role, seq)
    if step is None:
        return None, agg
    return step.ref, fold(agg, step)
