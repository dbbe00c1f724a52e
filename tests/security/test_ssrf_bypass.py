"""SSRF bypasses of issue 17, each reproduced against a real receiver on loopback.

Every form reached ``127.0.0.1`` before: the host is judged as the client connects to it now
(IDNA/UTS-46 first), non-ASCII spellings of IP literals and non-canonical numeric hosts are refused
at registration, and the address each socket connects to passes the policy (the socket factory),
so a resolver that answers an internal address cannot get a connection. Refusals in the delivery
log are one generic text whatever the port: no port-scan oracle.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from connectors.webhooks.sender import HttpSender
from connectors.webhooks.ssrf import (
    REFUSED,
    TargetPolicy,
    UnsafeTarget,
    check_url,
    guarded_socket_factory,
)

BYPASSES = [
    "http://127\u30020\u30020\u30021:{port}/hook",  # ideographic full stops
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/hook",  # full-width digits
    "http://\u2460\u2461\u2466.\u24ea.\u24ea.\u2460:{port}/hook",  # circled digits
    "http://127\uff0e0\uff0e0\uff0e1:{port}/hook",  # full-width full stops
    "http://2130706433:{port}/hook",  # one decimal number
    "http://0x7f000001:{port}/hook",  # hexadecimal
    "http://0x7f.0.0.1:{port}/hook",  # hexadecimal octet
    "http://0177.0.0.1:{port}/hook",  # octal octet
    "http://017700000001:{port}/hook",  # octal number
    "http://127.1:{port}/hook",  # short form
    "http://127.0.1:{port}/hook",  # short form
    "http://127.0.0.1.:{port}/hook",  # trailing dot
    "http://0:{port}/hook",  # 0 = 0.0.0.0
    "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]:{port}/hook",
    "http://[2002:7f00:1::]:{port}/hook",  # 6to4 of loopback
    "http://[64:ff9b::a9fe:a9fe]:{port}/hook",  # NAT64 of the metadata address
    "http://[fe80::1%25lo]:{port}/hook",  # scoped link-local
    "http://[fc00::1]:{port}/hook",  # ULA
    "http://169.254.169.254/latest/meta-data/",
    "http://[::]:{port}/",
    "http://239.1.2.3:{port}/",  # multicast
    "http://240.0.0.1:{port}/",  # reserved
]


@pytest.mark.parametrize("template", BYPASSES)
def test_bypass_forms_are_refused_at_registration(template: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(template.format(port=8080), TargetPolicy())


@pytest.mark.parametrize("template", BYPASSES[:4])
def test_non_ascii_ip_literals_are_refused_even_where_loopback_is_allowed(template: str) -> None:
    with pytest.raises(UnsafeTarget, match="ASCII"):
        check_url(template.format(port=8080), TargetPolicy.parse("127.0.0.0/8"))


def test_canonical_forms_and_names_still_pass() -> None:
    assert check_url("https://hooks.example.com/x", TargetPolicy()) == ("hooks.example.com", 443)
    assert check_url("http://bücher.example/x", TargetPolicy())[0] == "xn--bcher-kva.example"
    assert check_url("http://[2606:4700::1111]/", TargetPolicy())[0] == "2606:4700::1111"
    assert check_url("http://93.184.216.34/", TargetPolicy()) == ("93.184.216.34", 80)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1", "224.0.0.1"],
)
def test_the_socket_factory_refuses_internal_addresses(address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    factory = guarded_socket_factory(TargetPolicy())
    with pytest.raises(OSError, match=REFUSED):
        factory((family, socket.SOCK_STREAM, 6, "", (address, 80)))


class _Answers:
    """A resolver that answers whatever address it was told (a rebinding DNS server)."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        return [
            {"hostname": host, "host": self.address, "port": port, "family": socket.AF_INET,
             "proto": 0, "flags": 0}
        ]  # fmt: skip

    async def close(self) -> None:
        return None


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[int, list[bytes]]]:
    hits: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        hits.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, hits
    finally:
        await runner.cleanup()


async def test_no_bypass_form_reaches_the_receiver(receiver: tuple[int, list[bytes]]) -> None:
    port, hits = receiver
    sender = HttpSender(TargetPolicy())
    try:
        for template in BYPASSES:
            result = await sender.post(template.format(port=port), b"{}", {}, timeout_s=2)
            assert result.unsafe, (template, result)
            assert result.error == f"refused: {REFUSED}", result
    finally:
        await sender.close()
    assert hits == []


async def test_a_name_resolving_inside_is_refused_at_connect(
    receiver: tuple[int, list[bytes]],
) -> None:
    port, hits = receiver
    sender = HttpSender(TargetPolicy(), resolver=_Answers("127.0.0.1"))  # type: ignore[arg-type]
    try:
        result = await sender.post(f"http://rebind.example:{port}/hook", b"{}", {}, timeout_s=2)
    finally:
        await sender.close()
    assert result.unsafe and result.error == f"refused: {REFUSED}"
    assert hits == []


async def test_allowed_networks_still_deliver_through_the_pinned_socket(
    receiver: tuple[int, list[bytes]],
) -> None:
    port, hits = receiver
    sender = HttpSender(TargetPolicy.parse("127.0.0.0/8"), resolver=_Answers("127.0.0.1"))  # type: ignore[arg-type]
    try:
        direct = await sender.post(f"http://127.0.0.1:{port}/hook", b"a", {}, timeout_s=5)
        named = await sender.post(f"http://receiver.test:{port}/hook", b"b", {}, timeout_s=5)
    finally:
        await sender.close()
    assert (direct.status, named.status) == (204, 204)
    assert hits == [b"a", b"b"]


async def test_refusals_and_failures_do_not_tell_ports_apart(
    receiver: tuple[int, list[bytes]],
) -> None:
    """Open port, closed port, internal or not: the log text carries no network detail."""
    port, _hits = receiver
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    inside = HttpSender(TargetPolicy())
    allowed = HttpSender(TargetPolicy.parse("127.0.0.0/8"))
    try:
        errors = {
            (await inside.post(f"http://127.0.0.1:{p}/hook", b"", {}, timeout_s=2)).error
            for p in (port, closed_port)
        }
        failed = await allowed.post(f"http://127.0.0.1:{closed_port}/hook", b"", {}, timeout_s=2)
    finally:
        await inside.close()
        await allowed.close()
    assert errors == {f"refused: {REFUSED}"}
    assert failed.error == "connection failed"
