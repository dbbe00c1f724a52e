"""The routing core: pure functions over immutable values, called by the router agent.

- :class:`PartnerDirectory` — latest partner profiles (last writer wins), indexed by capability x
  region; :meth:`PartnerDirectory.apply` takes each capability update.
- :func:`route` — the eligible partners of an opportunity, ranked with reasons, or the counts per
  excluding rule (:data:`RULES`) when there are none; :class:`Weights` holds every ranking tunable.
- :class:`PartnerStats`, :class:`StatsView` — the referral statistics routing reads
  (``streams.scorecards.view.ScorecardBook`` serves them from the ``partner-stats`` topic);
  :class:`RoutingStats` is a fixed snapshot.
- :func:`plan_offers` / :func:`next_offers` — who holds the opportunity at once, then the waterfall.
- :class:`ConflictTable` — same customer and need within a window is flagged to the originator.
"""

from schemas.ids import opportunity_key
from streams.routing.conflicts import (
    DEFAULT_CONFLICT_WINDOW_S,
    Conflict,
    ConflictTable,
    conflict_keys,
    register,
)
from streams.routing.directory import PartnerDirectory, PartnerEntry
from streams.routing.eligibility import RULES
from streams.routing.plan import OfferPlan, exhausted, next_offers, plan_offers, replan
from streams.routing.ranking import Candidate, Reason
from streams.routing.route import RoutingDecision, route, route_linear
from streams.routing.stats import NO_STATS, PartnerStats, RoutingStats, StatsView
from streams.routing.weights import DEFAULT_WEIGHTS, FACTORS, Weights

__all__ = [
    "DEFAULT_CONFLICT_WINDOW_S",
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "NO_STATS",
    "RULES",
    "Candidate",
    "Conflict",
    "ConflictTable",
    "OfferPlan",
    "PartnerDirectory",
    "PartnerEntry",
    "PartnerStats",
    "Reason",
    "RoutingDecision",
    "RoutingStats",
    "StatsView",
    "Weights",
    "conflict_keys",
    "exhausted",
    "next_offers",
    "opportunity_key",
    "plan_offers",
    "register",
    "replan",
    "route",
    "route_linear",
]
