"""One line per setting for ``oppbus --help``: its environment variable, flag, default and meaning.

Every field of :class:`streams.settings.Settings` has an entry here (a unit test checks it, and
that ``docs/configuration.md`` documents each one too), so the help never falls behind the class.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from streams.settings import ENV_PREFIX, Settings

__all__ = ["FLAGS", "MEANING", "default_text", "env_name", "settings_epilog"]

# field -> the command-line flag that sets it (the other settings come from the environment only)
FLAGS: dict[str, str] = {
    "broker": "--broker",
    "broker_port": "--broker-port",
    "http_host": "--http-host",
    "http_port": "--http-port",
    "data_dir": "--data",
    "partitions": "--partitions",
    "log_level": "--log-level",
}

MEANING: dict[str, str] = {
    "broker": "kafka://host:port of an existing Kafka; unset: start the embedded broker",
    "broker_host": "address the embedded broker listens on",
    "broker_port": "port of the embedded broker",
    "http_host": "address the HTTP API binds",
    "http_port": "port of the HTTP API",
    "worker_web_port": "port of a worker's /metrics; 0: the HTTP port + 1",
    "data_dir": "keep the embedded broker's data here across restarts; unset: memory only",
    "admin_token": "the operator's bearer token; `up` generates and prints one when unset",
    "topic_prefix": "prefix of every bus topic name (PREFIX.opportunities, ...)",
    "partitions": "partitions of each bus topic created; workers scale up to this",
    "replication_factor": "replication factor of the topics created",
    "app_id": "Faust app id: the workers' consumer group and table names",
    "offer_ttl_s": "response deadline of an offer when the opportunity sets none (48 h)",
    "fetch_wait_ms": "longest a worker's fetch waits for new records, and the least time "
    "between two fetches while records flow; producers linger a tenth of it (at least 1 ms) to "
    "batch; 100 or more for a sustained load on the embedded broker",
    "deadline_scan_s": "how often a worker looks for offers past their response deadline",
    "conflict_window_s": "a second opportunity for the same customer and need within this "
    "window is a conflict (90 days)",
    "conflict_checks_per_hour": "different customer domains a partner may publish for per hour; "
    "more: 429; 0: no limit",
    "closed_retention_s": "how long a closed opportunity is remembered (workers: re-publishing it "
    "stays idempotent; API: it is still shown) and a settled webhook delivery is in the delivery "
    "log (30 days)",
    "waiting_recheck_s": "how often a waiting opportunity (only capacity or a missing partner in "
    "the way) is ranked again; a changed profile or load wakes it sooner",
    "session_timeout_s": "consumer-group session timeout: how soon a dead worker's partitions move",
    "worker_status_interval_s": "how often a worker repeats its readiness on the workers topic; "
    "/healthz counts a worker silent for three of these as gone",
    "fee_tick_s": "how often the fee keeper appends what is due (new outcomes, ended approval "
    "windows)",
    "log_level": "debug, info, warning or error",
    "extra_capabilities": "comma-separated capability codes added to the built-in taxonomy",
    "webhooks_enabled": "run the outbound webhook dispatcher in the workers",
    "webhook_allowed_networks": "comma-separated CIDRs of non-public webhook targets to allow "
    "(metadata endpoints never)",
    "webhook_timeout_s": "timeout of one webhook delivery attempt",
    "webhook_max_attempts": "attempts before a delivery is dead-lettered (webhook_exhausted)",
    "webhook_backoff_base_s": "first retry delay; doubles per attempt, with jitter",
    "webhook_backoff_max_s": "longest retry delay",
    "webhook_concurrency": "webhook deliveries in flight at once per worker",
    "webhook_queue_limit": "deliveries queued per partner; beyond it one is settled as failed "
    "(partner backlog full)",
    "crm_dir": "directory of per-partner CRM inbound files <partner_id>.toml or .json; unset: "
    "no partner can use CRM inbound",
    "crm_tolerance_s": "how old a signed CRM request may be (replay window)",
    "crm_public_url": "public base URL the CRM calls, when a proxy changes it (HubSpot signs "
    "the full URI)",
    "http_max_in_flight": "API requests processed at once; more are refused with 503",
    "http_max_streams": "open lead streams (SSE) at once; more are refused with 503",
    "http_rate_per_client": "sustained requests per second per client (authenticated caller, "
    "else address); more: 429; 0: no limit",
    "http_burst_per_client": "burst of requests per client above the sustained rate",
    "http_max_streams_per_partner": "open lead streams of one partner at once; more: 429",
    "http_body_timeout_s": "seconds a client has to send its request body; later: 408",
    "http_max_reading_per_client": "unfinished request bodies of one client at once; more: 429",
    "service_key": "HMAC key authenticating every record the bus writes, shared by its processes "
    "(comma-separated ring: the first signs); else DATA_DIR/keys/service.key, else `up` "
    "generates one; docs/security.md",
    "data_keys": "kid:base64(32 bytes) keys sealing customers and secrets on the log "
    "(comma-separated ring: the first encrypts); else DATA_DIR/keys/data.keys, else `up` "
    "generates them; docs/security.md",
    "kafka_username": "SASL/SCRAM principal of this process's role on a Kafka with ACLs "
    "(oppbus-api, oppbus-worker); unset: no SASL",
    "kafka_password": "password of kafka_username",
    "kafka_sasl_mechanism": "SCRAM-SHA-512 or SCRAM-SHA-256",
}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def default_text(field: str) -> str:
    """The default of a setting as the help and the docs show it ("unset" for None)."""
    default: Any = Settings.model_fields[field].default
    if default is None or default is PydanticUndefined:
        return "unset"
    if isinstance(default, SecretStr | Path):
        return str(default)
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if default == "":
        return "empty"
    return str(default)


def settings_epilog() -> str:
    """The help's list of every setting, one line each (env, flag, default, meaning)."""
    lines = ["Settings come from flags, else OPPBUS_* environment variables, else defaults:"]
    for field in Settings.model_fields:
        flag = FLAGS.get(field)
        name = f"{env_name(field)}" + (f" ({flag})" if flag else "")
        meaning = MEANING.get(field) or Settings.model_fields[field].description or "(undocumented)"
        text = f"{meaning} [default: {default_text(field)}]"
        lines += textwrap.wrap(
            text, width=100, initial_indent=f"  {name:<38} ", subsequent_indent=" " * 41
        )
    lines.append("Every setting in detail: docs/configuration.md")
    return "\n".join(lines) + "\n"
