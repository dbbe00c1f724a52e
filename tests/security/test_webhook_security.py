"""Outbound webhooks: Standard Webhooks signatures as the spec defines them, and SSRF refused.

The signature is checked against the Standard Webhooks specification's published example (an
independent vector, not our own output); the receiver side refuses tampered bodies, other
secrets, stale or future timestamps and missing headers. Through the API, a partner cannot point
its webhook at loopback, private, link-local, metadata or non-HTTP targets, and a refused URL is
not stored.
"""

from __future__ import annotations

import pytest

from connectors.webhooks.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)
from tests.integration.api.conftest import Harness

# From the Standard Webhooks specification's example.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_example() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE
    headers = signed_headers([SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY)
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS + 10) == SPEC_ID


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"body": SPEC_BODY + b" "}, "tampered body"),
        ({"secret": generate_secret()}, "another secret"),
        ({"now": SPEC_TS + 301}, "stale timestamp"),
        ({"now": SPEC_TS - 301}, "timestamp from the future"),
        ({"drop": "webhook-signature"}, "missing signature"),
        ({"drop": "webhook-timestamp"}, "missing timestamp"),
        ({"header": ("webhook-signature", "v2," + SPEC_SIGNATURE[3:])}, "unknown scheme"),
        ({"header": ("webhook-id", "msg_other")}, "id swapped"),
    ],
)
def test_the_receiver_refuses(change: dict, why: str) -> None:
    headers = signed_headers([SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY)
    if "drop" in change:
        del headers[change["drop"]]
    if "header" in change:
        name, value = change["header"]
        headers[name] = value
    with pytest.raises(WebhookVerificationError):
        verify(
            change.get("secret", SPEC_SECRET),
            headers,
            change.get("body", SPEC_BODY),
            now=change.get("now", SPEC_TS),
        )


def test_rotation_sends_two_signatures_and_either_verifies() -> None:
    new = generate_secret()
    headers = signed_headers([SPEC_SECRET, new], SPEC_ID, SPEC_TS, SPEC_BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SPEC_SECRET, new):
        assert verify(secret, headers, SPEC_BODY, now=SPEC_TS) == SPEC_ID


UNSAFE = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://sub.localhost/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.5/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://100.64.0.1/hook",
    "http://[fd00::1]/hook",
    "http://user:pass@example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com/",
    "ftp://example.com/hook",
    # issue 17: spellings the client normalises to an internal address
    "http://127\u30020\u30020\u30021:8080/hook",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/hook",
    "http://\u2460\u2461\u2466.\u24ea.\u24ea.\u2460/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
]


@pytest.mark.kafka
async def test_unsafe_webhook_targets_are_refused_and_not_stored(api: Harness) -> None:
    key = await api.register("ssrf-partner")
    accepted = []
    for url in UNSAFE:
        resp = await api.client.put(
            "/v1/partners/ssrf-partner/webhook", json={"url": url}, headers=key
        )
        body = await resp.json()
        if resp.status != 422 or not any(e["field"] == "url" for e in body.get("errors", [])):
            accepted.append((url, resp.status, body))
    assert not accepted, accepted
    stored = await api.client.get("/v1/partners/ssrf-partner/webhook", headers=key)
    assert stored.status == 404, await stored.text()
