"""``oppbus bench startup``: how soon ``oppbus up`` routes, and whether ``/healthz`` says so truly.

Each run starts ``oppbus up`` (the embedded memory broker, a worker, the API) on free ports, as a
user does, and measures from the moment it is spawned:

- ``ready_s``: its ``ready.`` line (printed when ``/healthz`` first says 200);
- ``healthy_s``: the first ``GET /healthz`` answered 200 (polled every 20 ms);
- ``first_offer_s``: an opportunity published (``POST /v1/opportunities``) at that moment, until
  its first offer: ``offered_at`` of the offer (the router's clock) minus the wall time just
  before the request, so the poll's period does not count; the partners were registered while
  the bus was starting, as soon as the API took requests.

The baseline of the same run is the embedded broker alone (``broker_s``: started until it answers
the Kafka protocol): what no ``oppbus up`` can start faster than. Targets (issue 24): ready within
5 s, the first offer within 1 s of the first 200. Figures: medians and maxima over ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.broker import EmbeddedBroker
from ops.demo import Story
from ops.demo_client import Api, DemoError
from ops.demo_network import storage_opportunity
from ops.procs import free_port, spawn, stop

__all__ = ["DESCRIPTION", "OFFER_TARGET_S", "READY_TARGET_S", "add_arguments", "run"]

DESCRIPTION = (
    "Start-up of `oppbus up` on the embedded broker: time to its ready line and to the first "
    "/healthz 200, and how soon an opportunity published at that moment is offered; the broker "
    "alone as the baseline."
)

READY_TARGET_S = 5.0
OFFER_TARGET_S = 1.0
_POLL_S = 0.02
_LIMIT_S = 90.0  # from the spawn: a start that takes longer is an error, not a figure


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=3, help="starts measured (3)")


def _broker_alone() -> float:
    began = time.monotonic()
    broker = EmbeddedBroker().start()
    took = time.monotonic() - began
    broker.stop()
    return took


def _until(api: Api, what: str, check: Callable[[], bool], began: float) -> float:
    """Seconds since ``began`` when ``check()`` first held (``Api.wait``, polled every 20 ms,
    at most ``_LIMIT_S`` after ``began``)."""
    api.wait(what, check, timeout=_LIMIT_S - (time.monotonic() - began), every=_POLL_S)
    return time.monotonic() - began


def _one_start(run_dir: Path, index: int) -> dict[str, float]:
    token = secrets.token_urlsafe(24)
    http_port, broker_port = free_port(), free_port()
    argv = [sys.executable, "-m", "ops.cli", "up", "--http-port", str(http_port)]
    argv += ["--broker-port", str(broker_port), "--log-level", "warning"]
    log = run_dir / f"up{index}.log"
    began = time.monotonic()
    proc = spawn(argv, log=log, env={**os.environ, "OPPBUS_ADMIN_TOKEN": token})
    try:
        api = Api(f"http://127.0.0.1:{http_port}", alive=lambda: proc.poll() is None)
        story = Story(api, token, say=lambda _: None)
        _until(api, "an API taking requests", lambda: _answers(api), began)
        story.register()  # while the worker starts
        healthy_s = _until(api, "a /healthz 200", api.healthy, began)
        opp_id = f"nw-startup-{index}"
        published = time.time()
        status, answer = api.call(
            "POST", "/v1/opportunities", story.keys[story.originator], storage_opportunity(opp_id)
        )
        if status != 202:
            raise DemoError(f"publishing answered {status} {answer}")
        offer = story.wait_offer(opp_id, exclude=set())
        offered = datetime.fromisoformat(offer["offered_at"]).timestamp()
        ready_s = _until(api, "its ready line", lambda: "ready." in log.read_text(), began)
        return {
            "ready_s": ready_s,
            "healthy_s": healthy_s,
            "first_offer_s": offered - published,
        }
    finally:
        stop(proc, timeout=20.0)


def _answers(api: Api) -> bool:
    try:
        status, _ = api.call("GET", "/livez")
    except DemoError:  # not listening yet
        return False
    return status == 200


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix="oppbus-bench-startup-"))
    brokers, starts = [], []
    for i in range(args.runs):
        brokers.append(_broker_alone())
        print(f"[bench startup] run {i + 1}/{args.runs}: oppbus up", file=sys.stderr, flush=True)
        starts.append(_one_start(run_dir, i))
        line = ", ".join(f"{k} {v:.2f}" for k, v in starts[-1].items())
        print(f"[bench startup]   {line} (broker alone {brokers[-1]:.2f} s)", file=sys.stderr)

    def figures(name: str, values: list[float]) -> dict[str, float]:
        return {
            f"{name}_median": round(statistics.median(values), 3),
            f"{name}_max": round(max(values), 3),
        }

    out: dict[str, Any] = {"runs": args.runs, **figures("broker_s", brokers)}
    for key in ("ready_s", "healthy_s", "first_offer_s"):
        out.update(figures(key, [s[key] for s in starts]))
    out["ready_target_s"], out["first_offer_target_s"] = READY_TARGET_S, OFFER_TARGET_S
    out["target_met"] = (
        out["ready_s_max"] <= READY_TARGET_S and out["first_offer_s_max"] <= OFFER_TARGET_S
    )
    print(f"[bench startup] logs in {run_dir}", file=sys.stderr)
    return out
