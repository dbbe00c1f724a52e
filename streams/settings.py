"""One frozen settings object, built once in the entrypoint from flags and ``OPPBUS_*`` env vars.

Nothing reads the environment anywhere else: the object is passed down explicitly.
Precedence: command-line flag > ``OPPBUS_<NAME>`` environment variable > default.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["ENV_PREFIX", "Settings", "load_settings"]

ENV_PREFIX = "OPPBUS_"


def _new_data_keys() -> SecretStr:
    from schemas.field_crypto import new_data_key

    return SecretStr(new_data_key())


def _new_service_key() -> SecretStr:
    """A fresh key for one process tree (``oppbus up`` hands it to its children; docs/security.md)."""
    return SecretStr(secrets.token_hex(32))


class Settings(BaseModel):
    """Runtime settings for every oppbus process (broker launcher, worker, API, demo, bench)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker: str | None = Field(
        default=None,
        description="kafka://host:port of an existing Kafka; None starts the embedded broker",
    )
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=9092, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    worker_web_port: int = Field(default=0, ge=0, le=65535, description="0: http_port + 1")
    data_dir: Path | None = Field(
        default=None, description="durable embedded storage; None: memory"
    )
    admin_token: SecretStr | None = None
    topic_prefix: str = "oppbus"
    partitions: int = Field(default=4, ge=1, le=256)
    replication_factor: int = Field(default=1, ge=1, le=5)
    app_id: str = "oppbus"
    # Response deadline of an offer when the opportunity does not set one (48 h).
    offer_ttl_s: float = Field(default=172_800.0, gt=0)
    # Longest a worker's fetch waits for new records (Faust's fixed 1.5 s replaced; see
    # streams/runtime/app.py): bounds the publish->offer latency on a broker that does not wake long polls.
    fetch_wait_ms: int = Field(default=10, ge=1, le=1500)
    # How often each worker scans its offers for passed response deadlines (an expiry fires within
    # about this long plus one fetch of its tick).
    deadline_scan_s: float = Field(default=1.0, gt=0, le=60)
    # Window in which a second opportunity for the same customer domain and need is a conflict.
    # Registrations older than the window are pruned (each worker keeps them all in memory).
    conflict_window_s: float = Field(default=90 * 86_400.0, ge=0)
    # A partner may publish for this many different customer domains per hour (0: no limit).
    conflict_checks_per_hour: int = Field(default=200, ge=0)
    # How long a closed opportunity (nothing offered or accepted any more) is remembered as a
    # compact marker (streams/offers/closed.py, ~0.3 KB of worker memory instead of ~2-3 KB): within
    # it, publishing it again is idempotent and a late response is answered as before; after it,
    # the marker is deleted and the opportunity forgotten (published again, it is routed again).
    closed_retention_s: float = Field(default=30 * 86_400.0, gt=0)
    # How often a waiting opportunity (nobody can take it yet: capacity, or no partner yet) is
    # looked at again; a changed profile or load wakes it at once anyway.
    waiting_recheck_s: float = Field(default=60.0, gt=0)
    # Session timeout for consumer groups. Tansu only notices a member that left after this, and a
    # join waits about half of it, so it is kept short on the embedded broker.
    session_timeout_s: float = Field(default=10.0, gt=0)
    # How often a worker repeats its readiness on the ``workers`` topic (a heartbeat); the API's
    # /healthz treats a worker silent for three of these as gone.
    worker_status_interval_s: float = Field(default=2.0, gt=0, le=60)
    # How often the fee keeper appends what is due (new won/lost outcomes, ended approval windows).
    fee_tick_s: float = Field(default=0.5, gt=0, le=60)
    log_level: str = "info"
    # Capability codes added to the built-in taxonomy (schemas/taxonomy.py), comma-separated.
    extra_capabilities: str = ""
    # Outbound webhooks (connectors/webhooks). Non-public targets are refused unless their network
    # is listed here (comma-separated CIDRs, e.g. "127.0.0.0/8" for a local receiver in tests).
    webhooks_enabled: bool = True
    webhook_allowed_networks: str = ""
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_base_s: float = Field(default=2.0, gt=0)
    webhook_backoff_max_s: float = Field(default=900.0, gt=0)
    webhook_concurrency: int = Field(default=64, ge=1, le=10_000)
    webhook_queue_limit: int = Field(default=10_000, ge=1)
    # CRM inbound (connectors/crm): per-partner config files <partner_id>.json|.toml in this dir.
    crm_dir: Path | None = None
    crm_tolerance_s: float = Field(default=300.0, gt=0)
    crm_public_url: str | None = Field(
        default=None, description="public base URL the CRM calls (HubSpot signs the full URI)"
    )
    # HTTP load shedding (connectors/http/limits.py): requests processed at once (more: 503),
    # open lead streams (more: 503), per-client sustained rate and burst (more: 429).
    http_max_in_flight: int = Field(default=256, ge=1)
    http_max_streams: int = Field(default=256, ge=1)
    http_rate_per_client: float = Field(default=500.0, ge=0)
    http_burst_per_client: int = Field(default=1000, ge=1)
    # Slow clients: open lead streams per partner (more: 429), seconds to send a request body
    # (else 408), unfinished request bodies per remote address (more: 429).
    http_max_streams_per_partner: int = Field(default=8, ge=1)
    http_body_timeout_s: float = Field(default=10.0, gt=0)
    http_max_reading_per_client: int = Field(default=32, ge=1)
    # The bus's service key (docs/security.md): an HMAC key held only by the bus's processes that
    # authenticates the internal records granting rights. Comma-separated for rotation: the first
    # signs, every one verifies. Default: a fresh key (one process tree; ops/keys.py provisions it).
    service_key: SecretStr = Field(default_factory=_new_service_key)
    # Data keys encrypting customers and secrets on the log (schemas/field_crypto.py):
    # "kid:base64(32 bytes)" comma-separated, the first encrypts, every one decrypts (rotation).
    data_keys: SecretStr = Field(default_factory=_new_data_keys)
    # Kafka SASL (docs/security.md): this process's principal (its role: api or worker) on a Kafka
    # with SASL/SCRAM and ACLs. No username: PLAINTEXT (the embedded broker has no authentication).
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"

    @field_validator("extra_capabilities")
    @classmethod
    def _capability_codes(cls, value: str) -> str:
        from schemas.taxonomy import parse_capabilities

        return ",".join(parse_capabilities(value))

    @field_validator("data_keys")
    @classmethod
    def _data_key_ring(cls, value: SecretStr) -> SecretStr:
        from schemas.field_crypto import parse_data_keys

        parse_data_keys(value.get_secret_value())  # kid:base64(32 bytes), comma-separated
        return value

    @field_validator("broker")
    @classmethod
    def _kafka_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith("kafka://") or ":" not in value.removeprefix("kafka://"):
            raise ValueError("must look like kafka://host:port")
        return value

    @property
    def embedded(self) -> bool:
        return self.broker is None

    @property
    def broker_url(self) -> str:
        """The kafka:// URL clients connect to (the embedded broker's when none was given)."""
        return self.broker or f"kafka://{self.broker_host}:{self.broker_port}"

    @property
    def bootstrap_servers(self) -> str:
        """host:port list for aiokafka clients."""
        return ",".join(u.removeprefix("kafka://") for u in self.broker_url.split(";"))

    @property
    def producer_linger_ms(self) -> int:
        """How long a producer of the bus holds a record to batch it with the next: a tenth of the
        fetch wait, at least 1 ms (1 ms at the default wait). Each batch stored costs the embedded
        broker on every later fetch of its partition (docs/embedded-broker.md), so a bus set for a
        sustained load writes fewer, fuller batches; a record waits at most this much longer."""
        return max(1, self.fetch_wait_ms // 10)

    def kafka_client_options(self) -> dict[str, Any]:
        """Keyword arguments of every aiokafka client: the SASL login when a username is set."""
        if not self.kafka_username:
            return {}
        password = self.kafka_password.get_secret_value() if self.kafka_password else ""
        return {
            "security_protocol": "SASL_PLAINTEXT",  # TLS: not yet (docs/security.md)
            "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_username,
            "sasl_plain_password": password,
        }

    def install_data_keys(self) -> None:
        """Hand this process's data keys to the codec (schemas/field_crypto.py): from now on it
        encrypts and decrypts the private fields of the events it writes and reads."""
        from schemas.field_crypto import install_data_keys

        install_data_keys(self.data_keys.get_secret_value())

    @property
    def api_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def resolved_worker_web_port(self) -> int:
        return self.worker_web_port or self.http_port + 1

    def topic(self, name: str) -> str:
        """Full topic name for a logical bus topic, e.g. ``topic("opportunities")``."""
        return f"{self.topic_prefix}.{name}"


def load_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build settings: flags that are not None win over ``OPPBUS_*`` env vars, which win over defaults."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    # Common alias from DESIGN.md: OPPBUS_DATA_DIR (field data_dir) is covered above.
    for name, value in (flags or {}).items():
        if value is not None and name in Settings.model_fields:
            values[name] = value
    return Settings.model_validate(values)
