"""docker-compose.yml agrees with the code: services, ports, OPPBUS_* settings, replication.

No Docker engine runs here, so the file is parsed and checked against Settings, the topic
catalogue, the Prometheus config, the alert rules and the Grafana provisioning it mounts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from schemas.topics import TOPICS
from streams.settings import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
BROKERS = ("kafka-1", "kafka-2", "kafka-3")
SETUP = "kafka-setup"
OPPBUS = ("worker-1", "worker-2", "api")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _settings(service: dict) -> Settings:
    from schemas.field_crypto import new_data_key

    stand_in = {"OPPBUS_DATA_KEYS": new_data_key()}  # what the operator exports
    env = {
        k: (stand_in.get(k, "compose-token") if "${" in v else v)
        for k, v in _env(service).items()
        if k.startswith(ENV_PREFIX)
    }
    return load_settings(env=env)


def test_services_are_the_promised_stack(compose):
    assert set(compose["services"]) == {*BROKERS, *OPPBUS, "prometheus", "grafana", SETUP}
    for name, service in compose["services"].items():
        if name == SETUP:  # one-shot: runs the ACL script and exits
            assert service["restart"] == "no"
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name


def test_kafka_runs_kraft_with_three_voters_rf3_and_min_isr2(compose):
    node_ids = set()
    for name in BROKERS:
        svc = compose["services"][name]
        env = _env(svc)
        assert svc["image"].startswith("apache/kafka:")
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = dict(v.split("@") for v in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
        assert voters == {"1": "kafka-1:9093", "2": "kafka-2:9093", "3": "kafka-3:9093"}
        assert voters[env["KAFKA_NODE_ID"]] == f"{name}:9093"
        node_ids.add(env["KAFKA_NODE_ID"])
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"SASL://{name}:9092"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert env["CLUSTER_ID"]
        data_dir = env["KAFKA_LOG_DIRS"]
        assert any(v.endswith(":" + data_dir) for v in svc["volumes"]), name
        named = svc["volumes"][0].split(":")[0]
        assert named in compose["volumes"]
        start = _mounts(svc)[svc["command"][-1]]
        assert (ROOT / start).is_file() and start.endswith("ops/kafka/start.sh")
    assert node_ids == {"1", "2", "3"}


def test_oppbus_services_env_are_real_settings_with_replication_3(compose):
    for name in OPPBUS:
        svc = compose["services"][name]
        env = _env(svc)
        unknown = {
            k
            for k in env
            if k.startswith(ENV_PREFIX)
            and k.removeprefix(ENV_PREFIX).lower() not in Settings.model_fields
        }
        assert not unknown, f"{name}: env vars that are no Settings field: {unknown}"
        settings = _settings(svc)
        assert settings.replication_factor == 3
        # Topics are created by the code with Settings.replication_factor; the broker enforces
        # min.insync.replicas=2, so writes (acks=all) survive one broker down.
        assert settings.replication_factor > 2
        hosts = {h.split(":")[0] for h in settings.bootstrap_servers.split(",")}
        assert hosts == set(BROKERS)
        assert not settings.embedded
        assert settings.http_host == "0.0.0.0"
        assert "${OPPBUS_ADMIN_TOKEN" in env["OPPBUS_ADMIN_TOKEN"]
        assert svc["command"][0] == name.split("-")[0]
        for broker in BROKERS:
            assert svc["depends_on"][broker]["condition"] == "service_healthy"


def test_partitions_allow_both_workers_to_share_every_partitioned_topic(compose):
    settings = _settings(compose["services"]["worker-1"])
    workers = [n for n in compose["services"] if n.startswith("worker-")]
    for spec in TOPICS:
        assert (spec.partitions or settings.partitions) >= len(workers), spec.name


def test_api_port_healthcheck_and_prometheus_target_agree(compose):
    api = compose["services"]["api"]
    port = _settings(api).http_port
    assert api["ports"] == [f"{port}:{port}"]
    assert f":{port}/healthz" in " ".join(api["healthcheck"]["test"])
    prom_cfg = yaml.safe_load((ROOT / "ops" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prom_cfg["scrape_configs"]}
    assert set(jobs) == {"oppbus-api", "oppbus-workers"}
    assert all(job["metrics_path"] == "/metrics" for job in jobs.values())
    assert jobs["oppbus-api"]["static_configs"][0]["targets"] == [f"api:{port}"]
    workers = [n for n in compose["services"] if n.startswith("worker-")]
    targets = []
    for name in workers:
        worker = compose["services"][name]
        web = _settings(worker).resolved_worker_web_port
        assert f":{web}/metrics" in " ".join(worker["healthcheck"]["test"])
        targets.append(f"{name}:{web}")
    assert jobs["oppbus-workers"]["static_configs"][0]["targets"] == targets


def _mounts(service: dict) -> dict[str, str]:
    out = {}
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        out[target] = source
    return out


def test_prometheus_mounts_its_config_and_the_alert_rules(compose):
    prom = compose["services"]["prometheus"]
    mounts = _mounts(prom)
    cfg_flag = next(a for a in prom["command"] if a.startswith("--config.file="))
    cfg_source = mounts[cfg_flag.split("=", 1)[1]]
    cfg = yaml.safe_load((ROOT / cfg_source).read_text())
    for rule_file in cfg["rule_files"]:
        source = mounts[rule_file]
        assert (ROOT / source).is_file()
        assert source.endswith("ops/alerts/oppbus.rules.yml")
    assert mounts["/prometheus"] in compose["volumes"]


def test_grafana_mounts_provisioning_and_the_dashboard_where_the_provider_looks(compose):
    grafana = compose["services"]["grafana"]
    mounts = _mounts(grafana)
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    provider = yaml.safe_load((provisioning / "dashboards" / "oppbus.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert (ROOT / mounts[path] / "oppbus.json").is_file()
    home = _env(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{path}/oppbus.json"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    url = datasource["datasources"][0]["url"]
    assert re.fullmatch(r"http://prometheus:9090", url)
    assert "9090:9090" in compose["services"]["prometheus"]["ports"]


def test_dockerfile_installs_the_package_and_runs_the_console_script():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    for package in ("schemas", "streams", "connectors", "ops"):
        assert f"COPY {package} ./{package}" in text
    assert 'ENTRYPOINT ["oppbus"]' in text


# --- the broker as a trust boundary: SASL/SCRAM, ACLs per role (docs/security.md) -----------


def test_kafka_takes_only_scram_logins_and_denies_what_no_acl_grants(compose):
    for name in BROKERS:
        env = _env(compose["services"][name])
        listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
        protocols = dict(
            i.split(":") for i in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        published = set(listeners) - {env["KAFKA_CONTROLLER_LISTENER_NAMES"]}
        assert {protocols[listener] for listener in published} == {"SASL_PLAINTEXT"}
        assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in published
        assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert "User:oppbus" not in env["KAFKA_SUPER_USERS"]  # the roles get ACLs, not all
        assert "9093" not in " ".join(compose["services"][name].get("ports", []))


def test_each_oppbus_role_logs_in_as_its_own_principal(compose):
    users = {}
    for name in OPPBUS:
        service = compose["services"][name]
        env = _env(service)
        users[name] = env["OPPBUS_KAFKA_USERNAME"]
        assert env["OPPBUS_KAFKA_PASSWORD"].startswith("${OPPBUS_")
        assert env["OPPBUS_SERVICE_KEY"].startswith("${OPPBUS_SERVICE_KEY:?")
        assert env["OPPBUS_DATA_KEYS"].startswith("${OPPBUS_DATA_KEYS:?")
        options = _settings(service).kafka_client_options()
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert service["depends_on"][SETUP]["condition"] == "service_completed_successfully"
    assert users == {"worker-1": "oppbus-worker", "worker-2": "oppbus-worker", "api": "oppbus-api"}


def test_the_acl_script_is_generated_from_the_topic_catalogue(compose):
    from ops.kafka_acls import script

    setup = compose["services"][SETUP]
    source = _mounts(setup)[setup["command"][-1]]
    assert (ROOT / source).read_text() == script(), "run: oppbus kafka-acls > ops/kafka/acls.sh"
    env = _env(setup)
    for var in (
        "BROKER_SCRAM_PASSWORD",
        "OPPBUS_API_KAFKA_PASSWORD",
        "OPPBUS_WORKER_KAFKA_PASSWORD",
    ):
        assert f"${var}" in script() and env[var].startswith("${" + var + ":?")


def _can(principal: str, operation: str, topic: str) -> bool:
    from ops.kafka_acls import grants

    for who, op, kind, pattern in grants():
        ptype, _, name = pattern.partition(":")
        hit = topic == name if ptype == "literal" else topic.startswith(name)
        if who == principal and kind == "topic" and op in (operation, "All") and hit:
            return True
    return False


def test_only_the_bus_roles_write_its_topics_and_each_reads_what_it_consumes():
    from connectors.http.readmodel import READ_TOPICS
    from ops.funnel_feed import FEED_TOPICS
    from ops.kafka_acls import grants
    from streams.gatekeeper import GATED_TOPICS

    assert {who for who, *_ in grants()} == {"oppbus-api", "oppbus-worker"}
    api_writes = {
        "partners", "credentials", "opportunities", "responses", "webhooks", "api-guards",
        "partnerships", "fees",  # proposals and terms; a payee's settlement
        "webhook-redrives",  # the operator's redrive of a dead delivery
    }  # fmt: skip
    worker_writes = {
        "referrals", "partner-stats", "scorecard-facts", "offer-deadlines", "customer-claims",
        "deadletter", "webhook-deliveries", "workers", "fees",  # the fee keeper's appends
    }  # fmt: skip
    for spec in TOPICS:
        topic = f"oppbus.{spec.name}"
        assert _can("oppbus-api", "Write", topic) == (spec.name in api_writes), spec.name
        assert _can("oppbus-worker", "Write", topic) == (spec.name in worker_writes), spec.name
    api_reads = {*READ_TOPICS, *FEED_TOPICS, "webhooks", "webhook-deliveries", "webhook-redrives"}
    worker_reads = {
        "opportunities", "responses", "offer-deadlines", "partners", "partner-stats",
        "customer-claims", "referrals", "scorecard-facts", "webhooks", "webhook-deliveries",
        "partnerships", "fees", "webhook-redrives", *GATED_TOPICS,
    }  # fmt: skip
    assert all(_can("oppbus-api", "Read", f"oppbus.{t}") for t in api_reads)
    assert all(_can("oppbus-worker", "Read", f"oppbus.{t}") for t in worker_reads)
    # a partner's ingress topic: read (and re-stamped) by the worker, never written by a role
    assert _can("oppbus-worker", "Read", "oppbus.ingress.acme")
    assert not _can("oppbus-api", "Write", "oppbus.ingress.acme")
