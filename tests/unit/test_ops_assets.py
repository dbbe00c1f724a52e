"""The alert rules and the Grafana dashboard load, and reference only metrics that exist."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from streams.metrics import ReferralMetrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "alerts" / "oppbus.rules.yml"
DASHBOARD = ROOT / "ops" / "dashboards" / "oppbus.json"
PROVISIONING = ROOT / "ops" / "grafana" / "provisioning"

METRIC = re.compile(r"\b(oppbus_[a-z0-9_]+)\b")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


# One call per public method: adding a method without touching it here fails the test below.
CALLS = {
    "opportunity_published": (),
    "offer_sent": (2,),
    "offer_accepted": (),
    "offer_declined": ("not_a_fit",),
    "offer_expired": (),
    "offer_reoffered": (),
    "referral_won": ("EUR", "1000"),
    "referral_lost": ("price",),
    "referral_withdrawn": (),
    "unroutable": ("not_complementary",),
    "conflict_flagged": (),
    "team_step": ("assembled",),
    "dead_lettered": ("schema",),
    "publish_to_offer_latency": (0.3,),
    "time_to_accept": (120.0,),
    "webhook_delivered": (),
    "webhook_failed": ("timeout",),
    "consumer_lag": ("referrals", 5),
    "worker_up": (True,),
}


@pytest.fixture(scope="module")
def exposed() -> dict[str, set[str]]:
    """Every sample name the container exposes once each method ran -> its label names."""
    registry = CollectorRegistry()
    metrics = ReferralMetrics(registry)
    public = {
        name
        for name, member in inspect.getmembers(metrics, inspect.ismethod)
        if not name.startswith("_")
    }
    assert public == set(CALLS), "update CALLS for new or removed metric methods"
    for name, args in CALLS.items():
        getattr(metrics, name)(*args)
    text = generate_latest(registry).decode()
    samples: dict[str, set[str]] = {}
    for family in registry.collect():
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    assert all(name in text for name in samples)
    return samples


def _rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _dashboard_targets() -> list[tuple[str, dict]]:
    dash = json.loads(DASHBOARD.read_text())
    return [(panel["title"], t) for panel in dash["panels"] for t in panel.get("targets", [])]


def _check_expr(expr: str, exposed: dict[str, set[str]], where: str) -> set[str]:
    names = set(METRIC.findall(expr))
    assert names, f"{where}: references no oppbus metric: {expr}"
    missing = names - set(exposed)
    assert not missing, f"{where}: unknown metrics {sorted(missing)}"
    labels = set().union(*(exposed[n] for n in names))
    for group in BY.findall(expr):
        for label in filter(None, (x.strip() for x in group.split(","))):
            assert label in labels, f"{where}: groups by unknown label {label!r}"
    return labels


def test_alert_rules_file_has_the_promised_alerts():
    doc = yaml.safe_load(RULES.read_text())
    assert {g["name"] for g in doc["groups"]}
    alerts = {r["alert"] for r in _rules()}
    assert {
        "OppbusNoOffersWhileOpportunitiesArrive",
        "OppbusDeadLettersRising",
        "OppbusConsumerLagGrowing",
        "OppbusWebhookFailureRate",
        "OppbusAcceptanceRateCollapse",
    } <= alerts
    for rule in _rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_alert_rules_reference_only_existing_metrics_and_labels(exposed):
    for rule in _rules():
        labels = _check_expr(rule["expr"], exposed, rule["alert"])
        text = " ".join(rule["annotations"].values())
        for match in re.findall(r"\$labels\.([a-z_]+)", text):
            assert match in labels, f"{rule['alert']}: annotation uses unknown label {match}"


def test_dashboard_loads_and_references_only_existing_metrics(exposed):
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] and dash["panels"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    targets = _dashboard_targets()
    assert len(targets) >= 15
    for title, target in targets:
        labels = _check_expr(target["expr"], exposed, title)
        for label in re.findall(r"\{\{([a-z_]+)\}\}", target.get("legendFormat", "")):
            assert label in labels, f"{title}: legend uses unknown label {label}"
        assert target["datasource"]["uid"] == "oppbus-prometheus"


def test_dashboard_and_rules_together_cover_the_funnel(exposed):
    used = set()
    for _, target in _dashboard_targets():
        used |= set(METRIC.findall(target["expr"]))
    for rule in _rules():
        used |= set(METRIC.findall(rule["expr"]))
    families = {re.sub(r"_(total|bucket|sum|count|created)$", "", n) for n in exposed}
    unused = {f for f in families if not any(u.startswith(f) for u in used)}
    assert not unused, f"metrics on no dashboard panel and in no alert: {sorted(unused)}"


def test_grafana_provisioning_points_at_the_dashboard_and_datasource_uid():
    ds = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert [d["uid"] for d in ds["datasources"]] == ["oppbus-prometheus"]
    prov = yaml.safe_load((PROVISIONING / "dashboards" / "oppbus.yml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
