"""Standard Webhooks signing and the SSRF guard of outbound webhooks (no network needed)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import socket

import pytest

from connectors.webhooks.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)
from connectors.webhooks.ssrf import GuardedResolver, TargetPolicy, UnsafeTarget, check_url

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_signature_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_key() -> None:
    body = b'{"type":"lead.offered"}'
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    expected = base64.b64encode(
        hmac.new(key, b"msg_1.1674087231." + body, hashlib.sha256).digest()
    ).decode()
    assert sign(SECRET, "msg_1", 1674087231, body) == "v1," + expected


def test_signed_headers_verify_and_tampering_fails() -> None:
    body = b'{"a":1}'
    headers = signed_headers([SECRET], "ref_0123456789abcdef0123.offered", 1_700_000_000, body)
    assert verify(SECRET, headers, body, now=1_700_000_010) == "ref_0123456789abcdef0123.offered"
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(SECRET, headers, b'{"a":2}', now=1_700_000_010)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(generate_secret(), headers, body, now=1_700_000_010)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(SECRET, headers, body, now=1_700_000_000 + 301)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(SECRET, {"webhook-id": "x"}, body, now=1_700_000_000)


def test_rotation_sends_one_signature_per_secret() -> None:
    new = generate_secret()
    headers = signed_headers([SECRET, new], "m", 5, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(new, headers, b"{}", now=5) == "m"
    assert verify(SECRET, headers, b"{}", now=5) == "m"


def test_generated_secrets_are_whsec_base64_of_32_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != generate_secret()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
        "http://localhost:9000/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "https://user:pass@example.com/hook",
        "https:///nohost",
    ],
)
def test_unsafe_targets_are_refused_by_default(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url, TargetPolicy())


def test_public_targets_pass_and_allowed_networks_are_explicit() -> None:
    assert check_url("https://hooks.example.com/x", TargetPolicy()) == ("hooks.example.com", 443)
    assert check_url("http://93.184.216.34:8443/x", TargetPolicy()) == ("93.184.216.34", 8443)
    loopback = TargetPolicy.parse("127.0.0.0/8")
    assert check_url("http://127.0.0.1:9/x", loopback) == ("127.0.0.1", 9)
    with pytest.raises(UnsafeTarget):
        check_url("http://10.0.0.1/x", loopback)  # only what was listed
    everything = TargetPolicy.parse("0.0.0.0/0, ::/0")
    with pytest.raises(UnsafeTarget, match="metadata"):
        check_url("http://169.254.169.254/", everything)  # metadata: never


class _Static:
    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


def test_resolver_drops_internal_addresses_so_dns_rebinding_fails() -> None:
    async def run() -> None:
        guarded = GuardedResolver(TargetPolicy(), _Static(["10.0.0.5", "93.184.216.34"]))  # type: ignore[arg-type]
        hosts = [r["host"] for r in await guarded.resolve("rebind.example", 443)]
        assert hosts == ["93.184.216.34"]
        only_internal = GuardedResolver(TargetPolicy(), _Static(["127.0.0.1"]))  # type: ignore[arg-type]
        with pytest.raises(OSError, match="refused"):
            await only_internal.resolve("evil.example", 80)
        allowed = GuardedResolver(
            TargetPolicy((ipaddress.ip_network("127.0.0.0/8"),)),
            _Static(["127.0.0.1"]),  # type: ignore[arg-type]
        )
        assert len(await allowed.resolve("receiver.test", 80)) == 1

    asyncio.run(run())
