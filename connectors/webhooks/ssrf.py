"""The SSRF guard: a partner's webhook URL must not reach into our own network.

Refused: non-http(s) URLs, credentials in the URL, and any address that is not globally routable —
private (RFC 1918, ULA), loopback, link-local, CGNAT, multicast, reserved, unspecified, IPv4-mapped,
6to4/Teredo/NAT64 forms of those — unless it falls in a network the operator explicitly allowed
(``Settings.webhook_allowed_networks``, e.g. ``127.0.0.0/8`` for tests). Cloud metadata endpoints
are refused always, allowed networks or not.

The host is judged exactly as the HTTP client will connect to it: :func:`target_host` normalises it
the way aiohttp/yarl does (IDNA with UTS-46 mapping, so ``127。0。0。1``, full-width and circled
digits all become ``127.0.0.1``). A non-ASCII host that normalises to an IP literal is refused
outright, and so is every numeric host that is not a canonical dotted quad (``2130706433``,
``0177.0.0.1``, ``0x7f.1``, ``127.1``): resolvers read those as IPv4 addresses.

The check then runs three times: on the URL when a subscription is registered, on the URL before
every send, and on the very address each connection is opened to — :func:`guarded_socket_factory`
is the connector's socket factory, so whatever aiohttp resolved (or took as a literal) is checked
right before ``connect`` and a DNS name that re-binds to an internal address is refused.
:class:`GuardedResolver` filters resolved addresses as well, so a refused name fails early.
Refusals say only "destination not allowed" to the partner (:data:`REFUSED`): the delivery log
must not tell which internal hosts or ports exist.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

__all__ = [
    "METADATA_ADDRESSES",
    "REFUSED",
    "GuardedResolver",
    "TargetPolicy",
    "UnsafeTarget",
    "check_url",
    "guarded_socket_factory",
    "target_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED = "destination not allowed"

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
# A last label like these makes resolvers (inet_aton) read the whole host as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """The URL or the address it resolves to is not an allowed webhook target."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


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
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.scope_id:
                raise UnsafeTarget(f"{ip} carries a scope id")
            inner = _embedded_v4(ip)
            if inner is not None:
                self.check_ip(inner)
                if ip.ipv4_mapped is not None:
                    return
        if ip in METADATA_ADDRESSES:
            raise UnsafeTarget(f"{ip} is a cloud metadata endpoint")
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return
        if not ip.is_global or ip.is_multicast or ip.is_reserved:
            raise UnsafeTarget(f"{ip} is not a public address ({_kind(ip)})")


def _kind(ip: IPAddress) -> str:
    for name in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    return "not global"


def target_host(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` exactly as aiohttp will connect: the host IDNA/UTS-46 normalised.

    Raises :class:`UnsafeTarget` for URLs the client could not use and for hosts whose meaning
    depends on the resolver: a non-ASCII spelling of an IP literal, or a non-canonical numeric
    IPv4 form.
    """
    try:
        parsed = URL(url)
        host = parsed.raw_host
        port = parsed.port
    except (ValueError, UnicodeError) as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https endpoints are allowed")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed")
    if not host:
        raise UnsafeTarget("the URL has no host")
    host = host.lower()
    literal = _ip(host)
    written = _written_host(url)
    if literal is not None and not written.isascii():
        raise UnsafeTarget("an IP address must be written in ASCII digits")
    if literal is None and _NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]):
        raise UnsafeTarget("a numeric host must be a canonical dotted-quad IPv4 address")
    if isinstance(literal, ipaddress.IPv4Address) and str(literal) != host:
        raise UnsafeTarget("a numeric host must be a canonical dotted-quad IPv4 address")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _written_host(url: str) -> str:
    """The host as the partner wrote it (between ``//`` and the next ``/``, ``?``, ``#``)."""
    rest = url.split("//", 1)[-1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return authority.rsplit("@", 1)[-1]


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, policy: TargetPolicy) -> tuple[str, int]:
    """Validate a webhook URL statically; return ``(host, port)``. Names are checked on connect."""
    _scheme, host, port = target_host(url)
    name = host.rstrip(".")
    if name in _METADATA_NAMES:
        raise UnsafeTarget(f"{name} is a cloud metadata endpoint")
    literal = _ip(host)
    if literal is not None:
        policy.check_ip(literal)
    elif (name == "localhost" or name.endswith(".localhost")) and not policy.allowed:
        raise UnsafeTarget(f"{name} is loopback")
    return host, port


class GuardedResolver(AbstractResolver):
    """DNS for the webhook client: only addresses the policy allows come back."""

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower() in _METADATA_NAMES:
            raise OSError(f"webhook target refused: {REFUSED}")
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        for result in results:
            try:
                self._policy.check_ip(ipaddress.ip_address(result["host"]))
            except (UnsafeTarget, ValueError):
                continue
            allowed.append(result)
        if not allowed:
            raise OSError(f"webhook target refused: {REFUSED}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


AddrInfo = tuple[Any, Any, int, str, tuple[Any, ...]]


def guarded_socket_factory(policy: TargetPolicy) -> Callable[[AddrInfo], socket.socket]:
    """The connector's socket factory: the address about to be connected to must pass ``policy``.

    It sees the final address of every connection (resolved name or literal), so the address that
    was checked is the address that is connected to."""

    def factory(addr_info: AddrInfo) -> socket.socket:
        family, type_, proto, _canon, sockaddr = addr_info
        try:
            policy.check_ip(ipaddress.ip_address(sockaddr[0]))
            if len(sockaddr) >= 4 and sockaddr[3]:
                raise UnsafeTarget("scoped IPv6 address")
        except (UnsafeTarget, ValueError):
            raise OSError(f"webhook target refused: {REFUSED}") from None
        return socket.socket(family=family, type=type_, proto=proto)

    return factory
