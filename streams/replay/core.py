"""What-if replay: route the history's opportunities with the policy then in force and a candidate.

Fed the history in event order (``feed(at, event)``, ``at`` the event's time in epoch seconds),
:class:`Replay` keeps the state live routing read — the partner directory (profile updates), the
partnerships, the routing stats (the ``partner-stats`` scorecards) and the policy versions — and
routes each opportunity twice with :func:`streams.routing.route`, as the live ranker does (the
policy's weights, ``max_ranked`` = the opportunity's ``max_partners``, nobody excluded, ``now`` =
its time, the originator's active partners: the ``partnership`` factor and the scope of a
``partners_only`` opportunity):
with the policy in force (the version its recorded offers name, else the latest one applied) and
with the candidate. Both see the same state: the history as it happened. Outcomes on the ledger
give each partner's observed acceptance and win rates, which turn offers into expected results.

``recorded`` (:func:`streams.replay.recorded.recorded_routing`) lets the replay check itself
against live: every opportunity whose recorded first choice differs from the replayed one under
the policy in force is counted with the likely reason (see :data:`DIFFERENCE_REASONS`).
Pure: no clock, no I/O; the same history gives the same report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.common import Contract
from schemas.ids import opportunity_key
from schemas.opportunity import Opportunity
from schemas.partner import PartnerProfile
from schemas.partnership import Partnership
from schemas.policy import RoutingPolicy
from schemas.referrals import (
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWon,
)
from schemas.scorecard import PartnerScorecard
from streams.partnerships.book import PartnershipBook
from streams.partnerships.scope import partners_only_scope
from streams.policy import PolicyBook, PolicyInForce, ranked_weights
from streams.replay.measures import Outcomes, expected, spread
from streams.replay.recorded import Recorded
from streams.routing import PartnerDirectory, RoutingDecision, Weights, route
from streams.scorecards.view import ScorecardBook

__all__ = ["DIFFERENCE_REASONS", "Replay"]

DIFFERENCE_REASONS: dict[str, str] = {
    "capacity_timing": "the recorded partner was at capacity in the replay: the live router "
    "had not yet seen the scorecard counting its latest offers (or had seen a newer one)",
    "stats_timing": "both offered somebody, in a different order: the load, rates or "
    "reciprocity the live router had read differ from the scorecards replayed at that time",
    "profile_timing": "the recorded partner's profile was not (or no longer) in the replayed "
    "directory at that time",
    "partnership_timing": "the live offer's partnership reason and the partnerships replayed at "
    "that time disagree about the live or the replayed first choice (a partnership accepted or "
    "ended around the opportunity's time), or a partners_only opportunity's scope differs",
    "unroutable_in_replay": "live offered somebody, the replay nobody",
    "routable_in_replay": "live found nobody, the replay somebody",
    "policy_unknown": "the offers name a policy version that is not on the log",
}


@dataclass(slots=True)
class _Segment:
    """The counts of one need or one region."""

    replayed: int = 0
    decisions_changed: int = 0
    first_choices_changed: int = 0
    unroutable_before: int = 0
    unroutable_after: int = 0
    offers_before: Counter[str] = field(default_factory=Counter)
    offers_after: Counter[str] = field(default_factory=Counter)

    def figures(self, outcomes: Outcomes) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "decisions_changed": self.decisions_changed,
            "first_choices_changed": self.first_choices_changed,
            "unroutable_before": self.unroutable_before,
            "unroutable_after": self.unroutable_after,
            "expected_before": expected(self.offers_before, outcomes),
            "expected_after": expected(self.offers_after, outcomes),
        }


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the replay knew of the originator's partnerships when it routed an opportunity."""

    partners: frozenset[str]
    partners_only: bool

    def partnership_differs(self, rec: Recorded, live: str | None, replayed: str | None) -> bool:
        """Live and the replay disagree on a partnership that decides the first choice."""
        for pid in (live, replayed):
            recorded = rec.partnered.get(pid) if pid is not None else None
            if recorded is not None and recorded != (pid in self.partners):
                return True
        if self.partners_only:  # the scope: live offered outside it, or found nobody inside
            return (live is not None and live not in self.partners) or (
                live is None and replayed is not None
            )
        return False


def _primary(decision: RoutingDecision) -> str:
    """The rule that excluded most partners of an unroutable decision."""
    return next(iter(decision.unroutable_reasons()), "no_partner")


class Replay:
    """The fold of a history into a what-if report (see the module docstring)."""

    def __init__(
        self,
        candidate: Weights,
        *,
        recorded: Mapping[str, Recorded] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> None:
        self.candidate = candidate
        self.recorded: Mapping[str, Recorded] = recorded or {}
        self.since, self.until = since, until
        self.directory = PartnerDirectory()
        self.partnerships = PartnershipBook()
        self.stats = ScorecardBook()
        self.policies = PolicyBook()
        self.outcomes = Outcomes.empty()
        self.replayed = 0
        self.decisions_changed = 0
        self.first_choices_changed = 0
        self.skipped: Counter[str] = Counter()
        self.unroutable_before: Counter[str] = Counter()
        self.unroutable_after: Counter[str] = Counter()
        self.offers_before: Counter[str] = Counter()
        self.offers_after: Counter[str] = Counter()
        self.by_need: dict[str, _Segment] = {}
        self.by_region: dict[str, _Segment] = {}
        self.versions_used: Counter[int] = Counter()
        self.compared = 0
        self.reproduced = 0
        self.differences: Counter[str] = Counter()
        self.examples: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    # -- the fold --------------------------------------------------------------------------------
    def feed(self, at: float, event: Contract) -> None:
        """Apply one event of the history, ``at`` its time (epoch seconds), in event order."""
        kind = type(event)
        if kind is Opportunity:
            self._opportunity(at, event)  # type: ignore[arg-type]
        elif kind is PartnerScorecard:
            self.stats.apply(event)  # type: ignore[arg-type]
        elif kind is PartnerProfile:
            self.directory.apply(event)  # type: ignore[arg-type]
        elif kind is Partnership:
            self.partnerships.apply(event)  # type: ignore[arg-type]
        elif kind is RoutingPolicy:
            self.policies.apply(event)  # type: ignore[arg-type]
        elif kind is ReferralAccepted:
            self._decided(event.partner_id, accepted=True)  # type: ignore[attr-defined]
        elif kind is ReferralDeclined or kind is ReferralExpired:
            self._decided(event.partner_id, accepted=False)  # type: ignore[attr-defined]
        elif kind is ReferralWon or kind is ReferralLost:
            pid = event.partner_id  # type: ignore[attr-defined]
            self.outcomes.closed[pid] += 1
            if kind is ReferralWon:
                self.outcomes.won[pid] += 1

    def _decided(self, partner_id: str, *, accepted: bool) -> None:
        self.outcomes.decided[partner_id] += 1
        if accepted:
            self.outcomes.accepted[partner_id] += 1

    def _in_force(self, rec: Recorded | None) -> PolicyInForce:
        if rec is not None and rec.policy_version is not None:
            known = self.policies.get(rec.policy_version)
            if known is not None:
                return known
        return self.policies.current

    def _opportunity(self, at: float, opp: Opportunity) -> None:
        if (self.since is not None and at < self.since) or (
            self.until is not None and at > self.until
        ):
            return
        key = opportunity_key(opp.originator, opp.opportunity_id)
        if key in self._seen:  # published again: live changes nothing
            self.skipped["republished"] += 1
            return
        self._seen.add(key)
        rec = self.recorded.get(key)
        if rec is not None and rec.conflict:  # live flagged a conflict and routed nobody
            self.skipped["conflict"] += 1
            return
        policy = self._in_force(rec)
        self.versions_used[policy.version] += 1
        now = datetime.fromtimestamp(at, UTC)
        slots = opp.max_partners
        partners = self.partnerships.active_partners(opp.originator)
        scoped = partners_only_scope(opp, lambda _originator: partners)
        weights_before = ranked_weights(policy.weights, slots)
        weights_after = ranked_weights(self.candidate, slots)
        before = route(
            scoped, self.directory, self.stats, now=now, weights=weights_before, partners=partners
        )
        if weights_after == weights_before or (
            not before.candidates and weights_after.pool == weights_before.pool
        ):  # nobody eligible: no weight makes anyone eligible (eligibility ignores weights)
            after = before
        else:
            after = route(
                scoped,
                self.directory,
                self.stats,
                now=now,
                weights=weights_after,
                partners=partners,
            )
        self._count(opp, before, after)
        if rec is not None:
            self._compare(key, rec, before, policy, _Seen(partners, opp.partners_only))

    def _count(self, opp: Opportunity, before: RoutingDecision, after: RoutingDecision) -> None:
        self.replayed += 1
        ids_before, ids_after = before.partner_ids, after.partner_ids
        changed = ids_before != ids_after
        first_changed = ids_before[:1] != ids_after[:1]
        self.decisions_changed += changed
        self.first_choices_changed += first_changed
        if not ids_before:
            self.unroutable_before[_primary(before)] += 1
        if not ids_after:
            self.unroutable_after[_primary(after)] += 1
        self.offers_before.update(ids_before)
        self.offers_after.update(ids_after)
        segments = [self._segment(self.by_need, need) for need in dict.fromkeys(opp.needs)]
        segments.append(self._segment(self.by_region, opp.region))
        for seg in segments:
            seg.replayed += 1
            seg.decisions_changed += changed
            seg.first_choices_changed += first_changed
            seg.unroutable_before += not ids_before
            seg.unroutable_after += not ids_after
            seg.offers_before.update(ids_before)
            seg.offers_after.update(ids_after)

    @staticmethod
    def _segment(table: dict[str, _Segment], name: str) -> _Segment:
        seg = table.get(name)
        if seg is None:
            seg = table[name] = _Segment()
        return seg

    # -- replay against live ---------------------------------------------------------------------
    def _compare(
        self,
        key: str,
        rec: Recorded,
        before: RoutingDecision,
        policy: PolicyInForce,
        seen: _Seen,
    ) -> None:
        if rec.unroutable and not rec.offered:
            live = None
        elif rec.offered:
            live = rec.first_choice
        else:
            return  # nothing recorded for its first round (e.g. outside the log read)
        self.compared += 1
        replayed = before.partner_ids[0] if before.partner_ids else None
        if live == replayed:
            self.reproduced += 1
            return
        reason = self._reason(rec, live, replayed, policy, seen)
        self.differences[reason] += 1
        if len(self.examples) < 20:
            self.examples.append(
                {"opportunity": key, "live": live, "replayed": replayed, "reason": reason}
            )

    def _reason(
        self,
        rec: Recorded,
        live: str | None,
        replayed: str | None,
        policy: PolicyInForce,
        seen: _Seen,
    ) -> str:
        if rec.policy_version is not None and rec.policy_version != policy.version:
            return "policy_unknown"
        if seen.partnership_differs(rec, live, replayed):
            return "partnership_timing"
        if live is None:
            return "routable_in_replay"
        entry = self.directory.get(live)
        if entry is None:
            return "profile_timing"
        if self.stats.partner(live).open_offers >= entry.capacity:
            return "capacity_timing"
        if replayed is None:
            return "unroutable_in_replay"
        return "stats_timing"

    # -- the report ------------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """The figures (JSON-ready); see ``docs/routing-policy.md`` for each key."""
        partners = [e.partner_id for e in self.directory]
        outcomes = self.outcomes
        acceptance, win = outcomes.network_rates()
        return {
            "replayed": self.replayed,
            "skipped": dict(self.skipped),
            "policies_in_force": {str(v): n for v, n in sorted(self.versions_used.items())},
            "decisions_changed": self.decisions_changed,
            "first_choices_changed": self.first_choices_changed,
            "unroutable": {
                "before": {
                    "count": sum(self.unroutable_before.values()),
                    "reasons": dict(self.unroutable_before.most_common()),
                },
                "after": {
                    "count": sum(self.unroutable_after.values()),
                    "reasons": dict(self.unroutable_after.most_common()),
                },
            },
            "spread": {
                "before": spread(self.offers_before, partners),
                "after": spread(self.offers_after, partners),
                "busiest_before": dict(self.offers_before.most_common(10)),
                "busiest_after": dict(self.offers_after.most_common(10)),
            },
            "expected": {
                "observed_rates": {"acceptance": round(acceptance, 4), "win": round(win, 4)},
                "before": expected(self.offers_before, outcomes),
                "after": expected(self.offers_after, outcomes),
            },
            "by_need": {k: s.figures(outcomes) for k, s in sorted(self.by_need.items())},
            "by_region": {k: s.figures(outcomes) for k, s in sorted(self.by_region.items())},
            "reproduction": {
                "compared": self.compared,
                "reproduced": self.reproduced,
                "differences": dict(self.differences.most_common()),
                "explanations": {k: DIFFERENCE_REASONS[k] for k in self.differences},
                "examples": self.examples,
            },
        }
