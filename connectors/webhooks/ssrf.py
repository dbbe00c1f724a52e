"""The SSRF guard: a partner's webhook URL must not reach into our own network.

Refused: non-http(s) URLs, credentials in the URL, and any address that is not globally routable —
private (RFC 1918, ULA), loopback, link-local, CGNAT, multicast, reserved, unspecified, IPv4-mapped
forms of those — unless it falls in a network the operator explicitly allowed
(``Settings.webhook_allowed_networks``, e.g. ``127.0.0.0/8`` for tests). Cloud metadata endpoints
are refused always, allowed networks or not.

The check runs twice: on the URL when a subscription is registered (IP literals and names that
resolve now), and on every connection through :class:`GuardedResolver`, which filters the
addresses aiohttp is about to connect to — so a DNS name that later re-binds to an internal
address is still refused. aiohttp does not call the resolver for IP literals, which is why
:func:`check_url` runs before every send as well.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = [
    "METADATA_ADDRESSES",
    "GuardedResolver",
    "TargetPolicy",
    "UnsafeTarget",
    "check_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})


class UnsafeTarget(ValueError):
    """The URL or the address it resolves to is not an allowed webhook target."""


@dataclass(frozen=True)
class TargetPolicy:
    """Which non-public networks the operator allowed (none by default)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, networks: str | Iterable[str]) -> TargetPolicy:
        items = networks.split(",") if isinstance(networks, str) else list(networks)
        return cls(tuple(ipaddress.ip_network(n.strip(), strict=False) for n in items if n.strip()))

    def check_ip(self, ip: IPAddress) -> None:
        """Raise :class:`UnsafeTarget` unless ``ip`` may be connected to."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip in METADATA_ADDRESSES:
            raise UnsafeTarget(f"{ip} is a cloud metadata endpoint")
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return
        if not ip.is_global or ip.is_multicast:
            raise UnsafeTarget(f"{ip} is not a public address ({_kind(ip)})")


def _kind(ip: IPAddress) -> str:
    for name in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    return "not global"


def check_url(url: str, policy: TargetPolicy) -> tuple[str, int]:
    """Validate a webhook URL statically; return ``(host, port)``. Names are checked on connect."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https endpoints are allowed")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeTarget("the URL has no host")
    if host in _METADATA_NAMES:
        raise UnsafeTarget(f"{host} is a cloud metadata endpoint")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        policy.check_ip(ip)
    elif (host == "localhost" or host.endswith(".localhost")) and not policy.allowed:
        raise UnsafeTarget(f"{host} is loopback")
    return host, port or (443 if parts.scheme == "https" else 80)


class GuardedResolver(AbstractResolver):
    """DNS for the webhook client: only addresses the policy allows come back."""

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower() in _METADATA_NAMES:
            raise OSError(f"webhook target {host} refused: cloud metadata endpoint")
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        reasons: list[str] = []
        for result in results:
            try:
                self._policy.check_ip(ipaddress.ip_address(result["host"]))
            except (UnsafeTarget, ValueError) as exc:
                reasons.append(str(exc))
                continue
            allowed.append(result)
        if not allowed:
            raise OSError(f"webhook target {host} refused: {'; '.join(reasons) or 'no address'}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
