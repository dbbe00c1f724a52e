"""Referral metrics: one container, methods named for what happened, bounded labels only.

The container takes the ``CollectorRegistry`` explicitly (nothing registers at import time), so a
process builds one registry in its entrypoint and tests build a fresh one each. Every label value
goes through a fixed vocabulary: free text, partner ids and opportunity ids never become labels —
an unknown value is counted under ``"other"``.

Metric names (all prefixed ``oppbus_``) are the contract of the dashboard and the alert rules in
``ops/dashboards`` and ``ops/alerts``; a test checks that they reference only these.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.operations import EXCLUSION_RULES
from schemas.referrals import DECLINE_REASONS as schemas_decline_reasons
from schemas.referrals import LOST_REASONS as schemas_lost_reasons

__all__ = [
    "CURRENCIES",
    "DEAD_LETTER_REASONS",
    "DECLINE_REASONS",
    "LOST_REASONS",
    "OTHER",
    "TOPIC_NAMES",
    "UNROUTABLE_RULES",
    "WEBHOOK_FAILURES",
    "ReferralMetrics",
    "bounded",
]

OTHER = "other"

# The contracts' reason and rule codes (schemas/), plus "other" for anything else.
DECLINE_REASONS = frozenset({*schemas_decline_reasons, OTHER})
LOST_REASONS = frozenset({*schemas_lost_reasons, OTHER})
# The routing rule that excluded the most candidates of an opportunity nobody could take
# ("no_candidates": the directory had no partner to consider at all).
UNROUTABLE_RULES = frozenset({*EXCLUSION_RULES, "no_candidates", OTHER})
# Why an event went to the dead-letter topic: the codec's InvalidEvent reasons and the processors'.
DEAD_LETTER_REASONS = frozenset(
    {
        "not_json",
        "not_an_object",
        "too_large",
        "missing_header",
        "bad_header",
        "unsupported_content_type",
        "unsupported_specversion",
        "unknown_type",
        "schema",
        "internal",
        "illegal_transition",
        "unknown_partner",
        "unknown_opportunity",
        "unknown_referral",
        "not_authorised",
        "webhook_exhausted",
        "processing_error",
        OTHER,
    }
)
WEBHOOK_FAILURES = frozenset({"timeout", "connection", "http_4xx", "http_5xx", OTHER})
# Logical bus topics (schemas/topics.py) — the consumer-lag label.
TOPIC_NAMES = frozenset(
    {
        "partners",
        "opportunities",
        "responses",
        "referrals",
        "partner-stats",
        "credentials",
        "deadletter",
        OTHER,
    }
)
# ISO 4217 codes seen in channel deals; any other valid or invalid code counts as "other".
CURRENCIES = frozenset(
    {
        "USD", "EUR", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "NZD",
        "JPY", "CNY", "HKD", "SGD", "INR", "KRW", "BRL", "MXN", "ZAR", "AED", "SAR", "ILS",
        OTHER,
    }
)  # fmt: skip
OFFER_ROUNDS = ("1", "2", "3", "4+")
TEAM_STEPS = ("planned", "replanned", "assembled", "incomplete")

# Publish -> first offer is seconds on a healthy bus; time to accept is minutes to days (TTL 48 h).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
ACCEPT_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86_400.0, 172_800.0)

_NON_WORD = re.compile(r"[^a-z0-9]+")
_CONTAINERS: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, ReferralMetrics]] = (
    weakref.WeakKeyDictionary()
)


def bounded(value: str | None, vocabulary: Iterable[str]) -> str:
    """``value`` normalised (lowercase, ``_`` separators) if it is in ``vocabulary``, else other."""
    if not value:
        return OTHER
    vocab = vocabulary if isinstance(vocabulary, frozenset) else frozenset(vocabulary)
    if value in vocab:
        return value
    normal = _NON_WORD.sub("_", value.strip().lower()).strip("_")
    return normal if normal in vocab else OTHER


class ReferralMetrics:
    """The referral funnel and bus health metrics of one process, on an explicit registry."""

    def __new__(cls, registry: CollectorRegistry, *, namespace: str = "oppbus") -> ReferralMetrics:
        # One container per registry and namespace: a second ``ReferralMetrics(registry)`` (e.g.
        # the webhook dispatcher's and the worker's /metrics in one process) is the same object,
        # instead of a "Duplicated timeseries" error.
        existing = _CONTAINERS.get(registry, {}).get(namespace)
        if existing is not None:
            return existing
        self = super().__new__(cls)
        _CONTAINERS.setdefault(registry, {})[namespace] = self
        return self

    def __init__(self, registry: CollectorRegistry, *, namespace: str = "oppbus") -> None:
        if getattr(self, "registry", None) is registry:
            return  # already built by an earlier call for this registry
        self.registry = registry

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, namespace=namespace, registry=registry)

        self._published = counter("opportunities_published", "Opportunities published on the bus.")
        self._offers = counter(
            "offers_sent", "Offers sent to partners, by offer round.", ("round",)
        )
        self._accepted = counter("offers_accepted", "Offers accepted by the partner holding them.")
        self._declined = counter("offers_declined", "Offers declined, by reason.", ("reason",))
        self._expired = counter("offers_expired", "Offers that passed their response deadline.")
        self._reoffered = counter(
            "offers_reoffered", "Opportunities offered again down the ranked list."
        )
        self._won = counter("referrals_won", "Accepted referrals closed as won.")
        self._revenue = counter(
            "revenue_won", "Deal value of won referrals, per currency.", ("currency",)
        )
        self._lost = counter("referrals_lost", "Accepted referrals closed as lost.", ("reason",))
        self._withdrawn = counter("referrals_withdrawn", "Referrals withdrawn by the originator.")
        self._unroutable = counter(
            "opportunities_unroutable",
            "Opportunities no partner could be offered, by the rule that excluded most.",
            ("rule",),
        )
        self._conflicts = counter(
            "conflicts_flagged", "Opportunities flagged as already registered for the customer."
        )
        self._teams = counter(
            "teams",
            "Team opportunities by step: planned, replanned (the one re-plan of a role nobody "
            "took), assembled (every role accepted), incomplete.",
            ("step",),
        )
        self._dead = counter("dead_letters", "Events sent to the dead-letter topic.", ("reason",))
        self._delivered = counter("webhook_deliveries", "Outbound webhooks delivered (2xx).")
        self._failed = counter(
            "webhook_failures", "Outbound webhook attempts that failed.", ("reason",)
        )
        self._to_offer = Histogram(
            "publish_to_offer_seconds",
            "Time from an opportunity being published to its first offer.",
            namespace=namespace,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self._to_accept = Histogram(
            "time_to_accept_seconds",
            "Time from an offer being sent to its acceptance.",
            namespace=namespace,
            registry=registry,
            buckets=ACCEPT_BUCKETS,
        )
        self._lag = Gauge(
            "consumer_lag",
            "Messages the workers' consumer group has not yet processed, per topic.",
            ("topic",),
            namespace=namespace,
            registry=registry,
        )
        self._worker_up = Gauge(
            "worker_up",
            "1 while oppbus workers run (from the API: the workers' group has live members).",
            namespace=namespace,
            registry=registry,
        )
        # Children created up front so every series exists at 0 (alerts see rates, not absence).
        for rnd in OFFER_ROUNDS:
            self._offers.labels(round=rnd)
        for step in TEAM_STEPS:
            self._teams.labels(step=step)
        self._declined.labels(reason=OTHER)
        self._lost.labels(reason=OTHER)
        self._unroutable.labels(rule=OTHER)
        self._dead.labels(reason=OTHER)
        self._failed.labels(reason=OTHER)
        self._revenue.labels(currency=OTHER)

    # -- the referral funnel -------------------------------------------------------------------
    def opportunity_published(self) -> None:
        self._published.inc()

    def offer_sent(self, round: int = 1) -> None:
        """An offer went to a partner; ``round`` 1 is the first ranking, 2+ are re-offers."""
        self._offers.labels(round=OFFER_ROUNDS[min(max(round, 1), 4) - 1]).inc()

    def offer_accepted(self) -> None:
        self._accepted.inc()

    def offer_declined(self, reason: str | None) -> None:
        self._declined.labels(reason=bounded(reason, DECLINE_REASONS)).inc()

    def offer_expired(self) -> None:
        self._expired.inc()

    def offer_reoffered(self) -> None:
        self._reoffered.inc()

    def referral_won(self, currency: str | None, amount: float | str | None) -> None:
        """A won referral; its deal value (decimal string or number) adds to revenue."""
        self._won.inc()
        value = _amount(amount)
        if value > 0:
            cur = (currency or "").upper()
            self._revenue.labels(currency=cur if cur in CURRENCIES else OTHER).inc(value)

    def referral_lost(self, reason: str | None) -> None:
        self._lost.labels(reason=bounded(reason, LOST_REASONS)).inc()

    def referral_withdrawn(self) -> None:
        self._withdrawn.inc()

    def unroutable(self, rule: str | None) -> None:
        self._unroutable.labels(rule=bounded(rule, UNROUTABLE_RULES)).inc()

    def conflict_flagged(self) -> None:
        self._conflicts.inc()

    def team_step(self, step: str) -> None:
        """A team was planned, re-planned, assembled or left incomplete (bounded labels)."""
        self._teams.labels(step=step if step in TEAM_STEPS else TEAM_STEPS[0]).inc()

    def dead_lettered(self, reason: str | None) -> None:
        self._dead.labels(reason=bounded(reason, DEAD_LETTER_REASONS)).inc()

    def publish_to_offer_latency(self, seconds: float) -> None:
        self._to_offer.observe(max(0.0, seconds))

    def time_to_accept(self, seconds: float) -> None:
        self._to_accept.observe(max(0.0, seconds))

    # -- outbound and bus health ---------------------------------------------------------------
    def webhook_delivered(self) -> None:
        self._delivered.inc()

    def webhook_failed(self, reason: str | None = None) -> None:
        self._failed.labels(reason=bounded(reason, WEBHOOK_FAILURES)).inc()

    def consumer_lag(self, topic: str, lag: int) -> None:
        """Lag of the workers' group on a bus topic (logical or full ``prefix.name`` name)."""
        name = topic if topic in TOPIC_NAMES else topic.rpartition(".")[2]
        self._lag.labels(topic=bounded(name, TOPIC_NAMES)).set(max(0, lag))

    def worker_up(self, up: bool) -> None:
        self._worker_up.set(1 if up else 0)


def _amount(amount: float | str | None) -> float:
    if amount is None:
        return 0.0
    try:
        value = float(amount)
    except ValueError:
        return 0.0
    return value if value == value and value not in (float("inf"), float("-inf")) else 0.0
