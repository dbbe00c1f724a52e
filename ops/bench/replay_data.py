"""A generated history for ``oppbus bench replay``: what a bus of N partners logs while routing.

On top of :mod:`ops.bench.routing_data` (the directory and opportunities of ``bench routing``):
policy version 1 (the defaults) applied first, every partner's scorecard (its history so far),
then each opportunity in turn, routed as the live router would (the first choice is offered:
its scorecard counts one more open offer), and the outcomes that follow (accepted, declined or
expired; accepted ones later won or lost), each moving the partner's scorecard. Events are built
without validation (``model_construct``): they are the decoded events a replay is fed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.bench import routing_data as data
from schemas.common import Contract
from schemas.ids import opportunity_key
from schemas.policy import RoutingPolicy
from schemas.referrals import ReferralAccepted, ReferralDeclined, ReferralLost, ReferralWon
from schemas.scorecard import PartnerScorecard, empty_scorecard
from streams.policy import DEFAULT_POLICY, ranked_weights, weights_to_mapping
from streams.replay import Recorded
from streams.routing import PartnerDirectory, route
from streams.scorecards.view import ScorecardBook

__all__ = ["History", "history"]

History = tuple[list[tuple[float, Contract]], dict[str, Recorded]]


def _card(pid: str, revision: int, **counts: Any) -> PartnerScorecard:
    base = empty_scorecard(pid)
    return base.model_copy(update={"revision": revision, **counts})


def history(n_partners: int, n_opportunities: int, seed: int = 5) -> History:
    """(events in order with their times, what live routing recorded per opportunity)."""
    rng = random.Random(seed)
    t0 = data.NOW.timestamp() - 86_400
    events: list[tuple[float, Contract]] = []
    policy = RoutingPolicy.model_construct(
        version=1,
        weights=weights_to_mapping(DEFAULT_POLICY.weights),
        applied_at=data.NOW - timedelta(days=1),
        applied_by="bench",
        note=None,
    )
    events.append((t0, policy))
    directory = PartnerDirectory()
    for profile in data.profiles(n_partners):
        directory.apply(profile)
        events.append((t0, profile))
    book = ScorecardBook()
    counts: dict[str, dict[str, Any]] = {}
    for pid, s in data.stats(n_partners).partners.items():
        counts[pid] = {
            "received": s.offers_received, "accepted": s.accepted, "declined": s.declined,
            "expired": s.expired, "won": s.won, "lost": s.lost, "open_offers": s.open_offers,
            "mean_seconds_to_accept": s.mean_s_to_accept, "revision": 1,
        }  # fmt: skip
        card = _card(pid, **counts[pid])
        book.apply(card)
        events.append((t0, card))
    recorded: dict[str, Recorded] = {}
    open_offers: list[tuple[str, str, str]] = []  # (partner, originator, opportunity id)

    def move(at: float, pid: str, **delta: int) -> None:
        c = counts[pid]
        for name, d in delta.items():
            c[name] = max(0, c[name] + d)
        c["revision"] += 1
        card = _card(pid, **c)
        book.apply(card)
        events.append((at, card))

    weights = ranked_weights(DEFAULT_POLICY.weights, 1)
    for i, opp in enumerate(data.opportunities(n_opportunities, n_partners)):
        at = t0 + 1 + i * 0.5
        opp = opp.model_copy(update={"published_at": data.NOW - timedelta(seconds=3600 - i)})
        events.append((at, opp))
        now = datetime.fromtimestamp(at, UTC)  # the replay routes at the record's time too
        decision = route(opp, directory, book, now=now, weights=weights)
        key = opportunity_key(opp.originator, opp.opportunity_id)
        rec = recorded[key] = Recorded(policy_version=1)
        if decision.partner_ids:
            pid = decision.partner_ids[0]
            rec.offered.append((1, pid))
            move(at + 0.1, pid, received=1, open_offers=1)
            open_offers.append((pid, opp.originator, opp.opportunity_id))
        else:
            rec.unroutable = True
        if open_offers and rng.random() < 0.8:  # an earlier offer is answered or expires
            pid, origin, oid = open_offers.pop(rng.randrange(len(open_offers)))
            about: dict[str, Any] = {"partner_id": pid, "originator": origin, "opportunity_id": oid}
            roll = rng.random()
            if roll < 0.4:
                events.append((at + 0.2, ReferralAccepted.model_construct(**about)))
                move(at + 0.25, pid, accepted=1)
                outcome = ReferralWon if rng.random() < 0.5 else ReferralLost
                events.append((at + 0.3, outcome.model_construct(**about)))
                closed = "won" if outcome is ReferralWon else "lost"
                move(at + 0.35, pid, open_offers=-1, **{closed: 1})
            else:
                events.append((at + 0.2, ReferralDeclined.model_construct(**about)))
                move(at + 0.25, pid, declined=1, open_offers=-1)
    events.sort(key=lambda item: item[0])
    return events, recorded
