"""The soak's API side: a real ``oppbus api`` process that follows the bus, and publishing through it.

The API process reads the whole bus into its read model (every opportunity, offer and outcome the
soak makes), so its memory over a long run is part of the verdict. With ``--publish api`` (the
default) the soak also publishes every opportunity as a partner's CRM would, ``POST
/v1/opportunities`` with the originator's key (issued by the operator at the start): the API's
write path — validation, conflict-check budget, publish with ``acks=all``, read-your-writes — runs
for the whole soak. Its ``202`` means the broker acknowledged the record.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from pathlib import Path
from subprocess import Popen

import aiohttp
import orjson

from ops.bench.soak_load import opportunity
from ops.bench.soak_samples import SoakRun
from ops.demo_client import Api, DemoError
from ops.procs import free_port, spawn

__all__ = ["ApiProcess", "publish_via_api", "start_api"]

# Requests open at once: enough for the rate at up to a second per request (a 202 waits for the
# broker's acknowledgement and for the API's read model to apply the record, which fetches once
# per fetch wait), below the API's own load shedding (OPPBUS_HTTP_MAX_IN_FLIGHT, 256). With 64, a
# request time above 320 ms capped the soak's intake under 200/s: the harness's limit, not the bus's.
MAX_IN_FLIGHT = 200


class ApiProcess:
    """A started ``oppbus api`` process, its URL and the admin token it was given."""

    def __init__(self, proc: Popen[bytes], url: str, admin_token: str) -> None:
        self.proc, self.url, self.admin_token = proc, url, admin_token
        self._api = Api(url, alive=lambda: proc.poll() is None)  # ops/demo_client.py

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_healthy(self, limit_s: float = 120.0) -> None:
        """Until ``/healthz`` answers 200 (the workers route and the read model caught up)."""
        self._api.wait("a healthy API", self._api.healthy, timeout=limit_s)

    def issue_key(self, partner_id: str, limit_s: float = 30.0) -> str:
        """A key for ``partner_id``, issued by the operator (``POST .../api-key``); a 404 is
        asked again until ``limit_s``: the profile was just published on the bus and the API's
        read model may not have applied it yet."""

        def issued() -> str | None:
            path = f"/v1/partners/{partner_id}/api-key"
            status, body = self._api.call("POST", path, token=self.admin_token)
            if status == 404:
                return None
            if status != 201:
                raise DemoError(f"POST {path}: {status} {body}")
            return str(body["api_key"])

        return self._api.wait(f"a key for {partner_id}", issued, timeout=limit_s)


def start_api(broker_url: str, env: dict[str, str], logs: Path, *, partitions: int) -> ApiProcess:
    """Start ``oppbus api`` on a free port with the workers' keys and state settings."""
    port, token = free_port(), secrets.token_urlsafe(24)
    argv = [sys.executable, "-m", "ops.cli", "api", "--broker", broker_url]
    argv += ["--http-port", str(port), "--log-level", "warning", "--partitions", str(partitions)]
    api_env = {
        **env,
        "OPPBUS_ADMIN_TOKEN": token,
        # one originator publishes every customer of the soak: no hourly conflict-check budget
        "OPPBUS_CONFLICT_CHECKS_PER_HOUR": "0",
        "OPPBUS_HTTP_RATE_PER_CLIENT": "0",
    }
    proc = spawn(argv, log=logs / "api.log", env=api_env)
    return ApiProcess(proc, f"http://127.0.0.1:{port}", token)


def _body(run: SoakRun, index: int) -> tuple[str, bytes]:
    opp = opportunity(run.run_id, index)
    body = opp.model_dump(mode="json", exclude={"originator", "published_at"})
    return opp.opportunity_id, orjson.dumps(body)


async def publish_via_api(
    run: SoakRun, api: ApiProcess, key: str, rate: float, duration: float
) -> None:
    """``POST /v1/opportunities`` at ``rate`` per second for ``duration`` seconds; a 202 counts
    as acknowledged (the API answers it after the broker's ``acks=all``), anything else not."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()
    refused: dict[int, int] = {}

    async def post(session: aiohttp.ClientSession, opportunity_id: str, body: bytes) -> None:
        began = time.monotonic()
        try:
            async with session.post("/v1/opportunities", data=body, headers=headers) as resp:
                await resp.read()
                if resp.status == 202:
                    run.acked += 1
                    run.request_times.append(time.monotonic() - began)
                else:
                    refused[resp.status] = refused.get(resp.status, 0) + 1
        except (aiohttp.ClientError, TimeoutError):
            refused[0] = refused.get(0, 0) + 1
        finally:
            slots.release()

    timeout = aiohttp.ClientTimeout(total=30.0)
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    async with aiohttp.ClientSession(api.url, timeout=timeout, connector=connector) as session:
        sent, started = 0, time.monotonic()
        while (elapsed := time.monotonic() - started) < duration:
            for _ in range(max(0, int(elapsed * rate) - sent)):
                await slots.acquire()
                opportunity_id, body = _body(run, sent)
                run.published_at[opportunity_id] = time.time()
                task = asyncio.create_task(post(session, opportunity_id, body))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(0.02)
        if tasks:
            await asyncio.wait(tasks)
    run.refused = refused
