"""Load shedding: a burst beyond capacity is refused at once (503/429), nothing else changes."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.http.limits import Limits, LoadShedder, install_limits
from streams.settings import load_settings


def _app(limits: Limits) -> tuple[web.Application, LoadShedder, asyncio.Event, list[int]]:
    release = asyncio.Event()
    served: list[int] = []
    entered: asyncio.Queue[str] = asyncio.Queue()

    async def slow(request: web.Request) -> web.Response:
        entered.put_nowait(request.path)
        await release.wait()
        served.append(1)
        return web.json_response({"ok": True}, status=202)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/v1/opportunities", slow)
    app.router.add_get("/v1/leads/stream", slow)
    app.router.add_get("/healthz", health)
    app.router.add_get("/v1/fast", health)
    shedder = install_limits(app, limits)
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
        a, b = {"Authorization": "Bearer a"}, {"Authorization": "Bearer b"}
        codes = [(await client.get("/v1/fast", headers=a)).status for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = await client.get("/v1/fast", headers=a)
        assert refused.status == 429 and refused.headers["Retry-After"] == "1"
        assert (await refused.json())["error"] == "rate_limited"
        assert (await client.get("/v1/fast", headers=b)).status == 200
    assert shed.shed_429 == 2


def test_limits_come_from_settings() -> None:
    settings = load_settings({"http_max_in_flight": 8, "http_rate_per_client": 0}, env={})
    limits = Limits.from_settings(settings)
    assert limits.max_in_flight == 8 and limits.rate_per_client == 0
