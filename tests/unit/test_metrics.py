"""The metrics container: every method moves its series; labels stay bounded."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streams.metrics import OTHER, ReferralMetrics, bounded


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> ReferralMetrics:
    return ReferralMetrics(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_funnel_counters_count_each_event(metrics, registry):
    metrics.opportunity_published()
    metrics.opportunity_published()
    metrics.offer_sent()
    metrics.offer_sent(round=2)
    metrics.offer_sent(round=9)
    metrics.offer_accepted()
    metrics.offer_expired()
    metrics.offer_reoffered()
    metrics.conflict_flagged()
    metrics.referral_withdrawn()
    assert value(registry, "oppbus_opportunities_published_total") == 2
    assert value(registry, "oppbus_offers_sent_total", round="1") == 1
    assert value(registry, "oppbus_offers_sent_total", round="2") == 1
    assert value(registry, "oppbus_offers_sent_total", round="4+") == 1
    assert value(registry, "oppbus_offers_sent_total", round="3") == 0
    assert value(registry, "oppbus_offers_accepted_total") == 1
    assert value(registry, "oppbus_offers_expired_total") == 1
    assert value(registry, "oppbus_offers_reoffered_total") == 1
    assert value(registry, "oppbus_conflicts_flagged_total") == 1
    assert value(registry, "oppbus_referrals_withdrawn_total") == 1


def test_decline_reasons_are_normalised_and_unknown_text_is_other(metrics, registry):
    metrics.offer_declined("No capacity")
    metrics.offer_declined("no_capacity")
    metrics.offer_declined("we are busy with partner acme-42 this quarter")
    metrics.offer_declined(None)
    assert value(registry, "oppbus_offers_declined_total", reason="no_capacity") == 2
    assert value(registry, "oppbus_offers_declined_total", reason=OTHER) == 2


def test_won_counts_and_adds_revenue_per_currency(metrics, registry):
    metrics.referral_won("EUR", "125000.50")
    metrics.referral_won("eur", 100)
    metrics.referral_won("XBT", "7")
    metrics.referral_won("USD", "not a number")
    metrics.referral_won(None, None)
    assert value(registry, "oppbus_referrals_won_total") == 5
    assert value(registry, "oppbus_revenue_won_total", currency="EUR") == pytest.approx(125100.5)
    assert value(registry, "oppbus_revenue_won_total", currency=OTHER) == 7
    assert value(registry, "oppbus_revenue_won_total", currency="USD") is None


def test_lost_unroutable_and_dead_letters_have_bounded_reasons(metrics, registry):
    metrics.referral_lost("price")
    metrics.referral_lost("customer chose acme")
    metrics.unroutable("competing")
    metrics.unroutable("opportunity opp-123 had no match")
    metrics.dead_lettered("schema")
    metrics.dead_lettered("Traceback ...")
    assert value(registry, "oppbus_referrals_lost_total", reason="price") == 1
    assert value(registry, "oppbus_referrals_lost_total", reason=OTHER) == 1
    assert value(registry, "oppbus_opportunities_unroutable_total", rule="competing") == 1
    assert value(registry, "oppbus_opportunities_unroutable_total", rule=OTHER) == 1
    assert value(registry, "oppbus_dead_letters_total", reason="schema") == 1
    assert value(registry, "oppbus_dead_letters_total", reason=OTHER) == 1


def test_histograms_observe_into_their_buckets(metrics, registry):
    metrics.publish_to_offer_latency(0.2)
    metrics.publish_to_offer_latency(-1)  # clock skew: counted as 0, never negative
    metrics.time_to_accept(600)
    assert value(registry, "oppbus_publish_to_offer_seconds_count") == 2
    assert value(registry, "oppbus_publish_to_offer_seconds_bucket", le="0.01") == 1
    assert value(registry, "oppbus_publish_to_offer_seconds_bucket", le="0.25") == 2
    assert value(registry, "oppbus_time_to_accept_seconds_sum") == 600
    assert value(registry, "oppbus_time_to_accept_seconds_bucket", le="300.0") == 0
    assert value(registry, "oppbus_time_to_accept_seconds_bucket", le="900.0") == 1


def test_webhooks_lag_and_worker_up(metrics, registry):
    metrics.webhook_delivered()
    metrics.webhook_failed("timeout")
    metrics.webhook_failed("HTTP 502 from https://crm.example")
    metrics.consumer_lag("referrals", 12)
    metrics.consumer_lag("t123.opportunities", 3)
    metrics.consumer_lag("t123.opportunities", -5)
    metrics.consumer_lag("some-partner-private-topic", 4)
    metrics.worker_up(True)
    assert value(registry, "oppbus_webhook_deliveries_total") == 1
    assert value(registry, "oppbus_webhook_failures_total", reason="timeout") == 1
    assert value(registry, "oppbus_webhook_failures_total", reason=OTHER) == 1
    assert value(registry, "oppbus_consumer_lag", topic="referrals") == 12
    assert value(registry, "oppbus_consumer_lag", topic="opportunities") == 0
    assert value(registry, "oppbus_consumer_lag", topic=OTHER) == 4
    assert value(registry, "oppbus_worker_up") == 1
    metrics.worker_up(False)
    assert value(registry, "oppbus_worker_up") == 0


def test_series_exist_at_zero_before_any_event(registry, metrics):
    del metrics
    assert value(registry, "oppbus_offers_sent_total", round="1") == 0
    assert value(registry, "oppbus_dead_letters_total", reason=OTHER) == 0
    assert value(registry, "oppbus_worker_up") == 0


def test_two_containers_on_separate_registries_do_not_share_counts():
    a, b = CollectorRegistry(), CollectorRegistry()
    ReferralMetrics(a).offer_accepted()
    ReferralMetrics(b)
    assert a.get_sample_value("oppbus_offers_accepted_total") == 1
    assert b.get_sample_value("oppbus_offers_accepted_total") == 0


def test_no_label_value_outside_the_vocabularies_reaches_the_exposition(metrics, registry):
    for i in range(50):
        metrics.offer_declined(f"partner-{i} is busy")
        metrics.dead_lettered(f"opp-{i}")
        metrics.unroutable(f"rule-{i}")
    text = generate_latest(registry).decode()
    assert "partner-" not in text and "opp-" not in text and "rule-" not in text


def test_bounded_maps_spaces_and_case_onto_the_vocabulary():
    vocab = frozenset({"not_a_fit", OTHER})
    assert bounded("Not a fit", vocab) == "not_a_fit"
    assert bounded("not-a-fit!", vocab) == "not_a_fit"
    assert bounded("", vocab) == OTHER
    assert bounded("nope", vocab) == OTHER


def test_one_container_per_registry_so_two_components_can_share_it():
    registry = CollectorRegistry()
    first = ReferralMetrics(registry)
    second = ReferralMetrics(registry)  # e.g. the webhook dispatcher and the worker's /metrics
    assert second is first
    second.webhook_delivered()
    first.webhook_delivered()
    assert registry.get_sample_value("oppbus_webhook_deliveries_total") == 2
    assert ReferralMetrics(CollectorRegistry()) is not first
