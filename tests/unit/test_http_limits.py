"""Load shedding: a burst beyond capacity is refused at once (503/429), nothing else changes."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.http.limits import Limits, LoadShedder, install_limits
from streams.settings import load_settings
from tests.slow_bodies import slow_bodies


def _principal(request: web.Request) -> str | None:
    """A stand-in for the API's authentication: ``Bearer tok-<name>`` in any spelling."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith("tok-"):
        return "partner:" + token.removeprefix("tok-")
    return None


def _app(limits: Limits) -> tuple[web.Application, LoadShedder, asyncio.Event, list[int]]:
    release = asyncio.Event()
    served: list[int] = []
    entered: asyncio.Queue[str] = asyncio.Queue()

    async def slow(request: web.Request) -> web.Response:
        entered.put_nowait(request.path)
        await release.wait()
        served.append(1)
        return web.json_response({"ok": True}, status=202)

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"bytes": len(await request.read())})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/v1/opportunities", slow)
    app.router.add_get("/v1/leads/stream", slow)
    app.router.add_get("/healthz", health)
    app.router.add_get("/v1/fast", health)
    app.router.add_post("/v1/fast", echo)
    shedder = install_limits(app, limits, _principal)
    app[ENTERED] = entered
    return app, shedder, release, served


ENTERED = web.AppKey("entered", asyncio.Queue)


async def _handlers_entered(app: web.Application, count: int) -> None:
    for _ in range(count):
        await asyncio.wait_for(app[ENTERED].get(), 5)


async def test_requests_beyond_the_in_flight_cap_get_503_with_retry_after_at_once() -> None:
    app, shedder, release, served = _app(Limits(max_in_flight=4, rate_per_client=0))
    async with TestClient(TestServer(app)) as client:
        held = [asyncio.create_task(client.post("/v1/opportunities")) for _ in range(4)]
        await _handlers_entered(app, 4)
        refused = await asyncio.gather(*(client.post("/v1/opportunities") for _ in range(10)))
        assert {r.status for r in refused} == {503}
        assert all(r.headers["Retry-After"] == "1" for r in refused)
        body = await refused[0].json()
        assert body["error"] == "overloaded" and body["errors"] == []
        health = await client.get("/healthz")  # probes are never shed
        assert health.status == 200
        release.set()
        accepted = await asyncio.gather(*held)
        assert [r.status for r in accepted] == [202] * 4
    assert len(served) == 4 and shedder.in_flight == 0 and shedder.shed_503 == 10


async def test_open_lead_streams_do_not_use_the_request_budget() -> None:
    app, shedder, release, _ = _app(Limits(max_in_flight=1, max_streams=2, rate_per_client=0))
    assert shedder.streams == 0
    async with TestClient(TestServer(app)) as client:
        streams = [asyncio.create_task(client.get("/v1/leads/stream")) for _ in range(2)]
        await _handlers_entered(app, 2)
        assert (await client.get("/v1/leads/stream")).status == 503
        post = asyncio.create_task(client.post("/v1/opportunities"))
        await _handlers_entered(app, 1)
        release.set()
        assert (await post).status == 202
        assert [(await s).status for s in streams] == [202, 202]


async def test_a_client_over_its_rate_gets_429_and_others_are_served() -> None:
    now = [0.0]
    shedder = LoadShedder(Limits(rate_per_client=2.0, burst_per_client=3), clock=lambda: now[0])
    assert [shedder.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert shedder.take("a") == 0.5  # one token every 0.5 s
    assert shedder.take("b") == 0.0
    now[0] = 0.5
    assert shedder.take("a") == 0.0

    app, shed, _, _ = _app(Limits(rate_per_client=1.0, burst_per_client=2))
    async with TestClient(TestServer(app)) as client:
        spellings = ["Bearer tok-a", "bEaReR   tok-a", "bearer tok-a  ", "BEARER tok-a"]
        b = {"Authorization": "Bearer tok-b"}
        codes = [
            (await client.get("/v1/fast", headers={"Authorization": s})).status
            for s in spellings[:3]
        ]
        assert codes == [200, 200, 429]  # one principal, one bucket, however the header is spelt
        refused = await client.get("/v1/fast", headers={"Authorization": spellings[3]})
        assert refused.status == 429 and refused.headers["Retry-After"] == "1"
        assert (await refused.json())["error"] == "rate_limited"
        assert (await client.get("/v1/fast", headers=b)).status == 200
    assert shed.shed_429 == 2


def test_limits_come_from_settings() -> None:
    settings = load_settings({"http_max_in_flight": 8, "http_rate_per_client": 0}, env={})
    limits = Limits.from_settings(settings)
    assert limits.max_in_flight == 8 and limits.rate_per_client == 0


async def test_slow_bodies_hold_no_in_flight_slot_and_get_408_json_at_the_deadline() -> None:
    limits = Limits(max_in_flight=4, rate_per_client=0, body_timeout_s=0.5,
                    max_reading_per_client=100)  # fmt: skip
    app, shedder, _, _ = _app(limits)
    async with TestClient(TestServer(app)) as client:
        conns = await slow_bodies(client.port, "/v1/opportunities", 20)
        await asyncio.sleep(0.1)
        assert shedder.in_flight == 0  # still reading: not in flight
        served = await client.post(
            "/v1/fast", json={"x": 1}, headers={"Authorization": "Bearer tok-b"}
        )
        assert served.status == 200
        answers = [await asyncio.wait_for(r.read(4096), 5) for r, _ in conns]
        for _, w in conns:
            w.close()
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[0][:200]
    assert all(b'"error":"request_timeout"' in a for a in answers)
    assert shedder.timed_out == 20 and shedder.in_flight == 0


async def test_one_client_may_hold_few_unfinished_bodies_and_others_are_served() -> None:
    limits = Limits(max_in_flight=4, rate_per_client=0, body_timeout_s=5, max_reading_per_client=3)
    app, _shedder, _, _ = _app(limits)
    async with TestClient(TestServer(app)) as client:
        conns = await slow_bodies(client.port, "/v1/opportunities", 3)
        await asyncio.sleep(0.1)
        more = await client.post("/v1/fast", data=b"{}")  # same address, no credentials
        assert more.status == 429 and (await more.json())["error"] == "rate_limited"
        other = await client.post("/v1/fast", json={}, headers={"Authorization": "Bearer tok-b"})
        assert other.status == 200
        for _, w in conns:
            w.close()


async def test_one_partner_cannot_take_every_lead_stream_and_a_closed_one_frees_its_slot() -> None:
    limits = Limits(max_streams=10, max_streams_per_client=2, rate_per_client=0)
    app, shedder, release, _ = _app(limits)
    a, b = {"Authorization": "Bearer tok-a"}, {"Authorization": "bearer  tok-b"}
    async with TestClient(TestServer(app)) as client:
        held = [asyncio.create_task(client.get("/v1/leads/stream", headers=a)) for _ in range(2)]
        await _handlers_entered(app, 2)
        third = await client.get("/v1/leads/stream", headers={"Authorization": "BEARER tok-a"})
        assert third.status == 429 and (await third.json())["error"] == "too_many_streams"
        other = asyncio.create_task(client.get("/v1/leads/stream", headers=b))
        await _handlers_entered(app, 1)  # partner b is served
        assert shedder.streams == 3
        release.set()
        assert [(await t).status for t in [*held, other]] == [202, 202, 202]
    assert shedder.streams == 0 and shedder.clients_streaming == 0


def test_installing_the_limits_twice_adds_one_shedder() -> None:
    app = web.Application()
    first = install_limits(app, Limits())
    assert install_limits(app, Limits(max_in_flight=1)) is first
    assert len(app.middlewares) == 1
