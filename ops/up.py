"""``oppbus up``: the embedded broker, one worker and the HTTP API, supervised as one.

Order of start: broker (unless --broker) → topics → worker and API; ready when the API's
/healthz says the bus routes (the worker has joined, recovered and caught up).
Order of stop (Ctrl-C, SIGTERM, or any child dying): API → worker → broker. Every child is bound
to our lifetime (ops.procs), so nothing is left running even if we are killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from ops.broker import BrokerError, EmbeddedBroker, wait_for_kafka
from ops.broker_growth import GrowthWatch, disk_sampler, memory_sampler
from ops.keys import child_env
from ops.procs import free_port, port_in_use, spawn, stop
from streams.runtime import ensure_topics
from streams.settings import Settings

__all__ = ["EMBEDDED_SESSION_TIMEOUT_S", "run_up"]

# Consumer-group session timeout of the workers `up` starts on its embedded broker (Tansu waits
# half of it in every group join; real Kafka refuses less than 6 s by default, so only here).
EMBEDDED_SESSION_TIMEOUT_S = 4.0


def _say(msg: str) -> None:
    print(f"oppbus: {msg}", flush=True)


def _fail(msg: str) -> int:
    print(f"oppbus: error: {msg}", file=sys.stderr, flush=True)
    return 2


def _child_argv(command: str, settings: Settings, broker_url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ops.cli",
        command,
        "--broker",
        broker_url,
        "--http-port",
        str(settings.http_port),
        "--http-host",
        settings.http_host,
        "--partitions",
        str(settings.partitions),
        "--log-level",
        settings.log_level,
    ]


def _health(url: str) -> tuple[bool, list[str]]:
    """Whether the API's /healthz says the bus routes, else what it still waits for."""
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1.0) as resp:
            return bool(resp.status == 200), []
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return False, [str(w) for w in body.get("waiting_for", [])][:3]
    except OSError:
        return False, ["api: starting"]


def _watch_growth(settings: Settings, broker: EmbeddedBroker, stack: ExitStack) -> None:
    """Warn before the embedded broker (which keeps every event) fills memory or disk, and when
    its growing logs keep a core busy."""
    if settings.data_dir is not None:
        sample, where = disk_sampler(settings.data_dir, broker.pid), "disk"
    elif broker.pid is not None:
        sample, where = memory_sampler(broker.pid), "memory"
    else:
        return
    watch = GrowthWatch(sample, where, _say, clock=time.monotonic).start()
    stack.callback(watch.stop)


def run_up(settings: Settings) -> int:
    os.umask(
        0o077
    )  # every file of this bus and its children private to its user (docs/security.md)
    stop_event = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        stop_event.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    if port_in_use(settings.http_host, settings.http_port):
        return _fail(
            f"HTTP port {settings.http_port} on {settings.http_host} is already in use; "
            "choose another with --http-port"
        )
    admin_token = (
        settings.admin_token.get_secret_value()
        if settings.admin_token
        else secrets.token_urlsafe(24)
    )
    worker_web_port = settings.resolved_worker_web_port
    if port_in_use(settings.http_host, worker_web_port):
        if settings.worker_web_port:
            return _fail(
                f"worker port {worker_web_port} on {settings.http_host} is already in use; "
                "choose another with OPPBUS_WORKER_WEB_PORT"
            )
        worker_web_port = free_port(settings.http_host)  # http port + 1 was taken: any free one
    run_dir = (
        Path(tempfile.mkdtemp(prefix="oppbus-run-"))
        if settings.data_dir is None
        else (settings.data_dir / "logs")
    )
    run_dir.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        if settings.embedded:
            if settings.data_dir is not None:
                from ops.durable import start_durable_broker

                try:
                    broker = start_durable_broker(settings, run_dir, stack)
                except BrokerError as exc:
                    return _fail(str(exc))
                _say(f"durable mode: broker data kept in {settings.data_dir}")
            else:
                broker = EmbeddedBroker(
                    host=settings.broker_host,
                    port=settings.broker_port,
                    log_path=run_dir / "broker.log",
                )
                try:
                    broker.start()
                except BrokerError as exc:
                    return _fail(str(exc))
                stack.callback(broker.stop)
                _say(
                    "memory mode: the embedded broker keeps nothing after it stops "
                    "(use --data DIR to keep events)"
                )
            broker_url = broker.url
        else:
            assert settings.broker is not None
            broker_url = settings.broker
            host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
            if not wait_for_kafka(host, int(port), timeout=15.0):
                return _fail(f"Kafka at {broker_url} does not answer")
        _say(f"broker   {broker_url}")

        effective = settings.model_copy(update={"broker": broker_url})
        created = asyncio.run(ensure_topics(effective))
        _say(f"topics   {len(created)} created, prefix {settings.topic_prefix}.")

        env = {
            **os.environ,
            "OPPBUS_ADMIN_TOKEN": admin_token,
            "OPPBUS_WORKER_WEB_PORT": str(worker_web_port),
            **child_env(settings),  # the keys of this bus, held by its processes only
        }
        if settings.data_dir is not None:
            env["OPPBUS_DATA_DIR"] = str(settings.data_dir)
        if settings.embedded and "OPPBUS_SESSION_TIMEOUT_S" not in os.environ:
            # Tansu holds a group join for half the session timeout: 2 s instead of 5 s at start.
            env["OPPBUS_SESSION_TIMEOUT_S"] = str(EMBEDDED_SESSION_TIMEOUT_S)
        children: list[tuple[str, subprocess.Popen[bytes]]] = []

        def _stop_children() -> None:
            for name, proc in reversed(children):
                code = stop(proc, timeout=8.0)
                _say(f"stopped {name} (exit {code})")

        stack.callback(_stop_children)
        for name in ("worker", "api"):
            proc = spawn(
                _child_argv(name, settings, broker_url), log=run_dir / f"{name}.log", env=env
            )
            children.append((name, proc))

        deadline = time.monotonic() + 90
        shown: list[str] = []
        while True:
            ok, waiting = _health(settings.api_url)
            if ok:
                break
            if waiting != shown and waiting:
                _say("starting " + "; ".join(waiting))
                shown = waiting
            if stop_event.is_set():
                _say("stopping before ready (stop requested)...")
                return 0  # a stop request is honoured: everything is stopped in order
            dead = [n for n, p in children if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{dead[0]} exited" if dead else "the bus did not become ready within 90 s"
                return _fail(f"{why}; see logs in {run_dir}")
            time.sleep(0.05)

        _say(
            f"api      {settings.api_url}  (health: {settings.api_url}/healthz, "
            f"metrics: {settings.api_url}/metrics, status page: {settings.api_url}/status)"
        )
        _say(f"inbox    {settings.api_url}/inbox  (partners sign in with their API key)")
        _say(f"worker   routing (metrics: http://{settings.http_host}:{worker_web_port}/metrics)")
        _say(f"admin    token {admin_token}")
        _say(f"logs     {run_dir}")
        _say("ready. Press Ctrl-C to stop.")
        if settings.embedded:
            _watch_growth(settings, broker, stack)

        while not stop_event.wait(0.5):
            dead = [n for n, p in children if p.poll() is not None]
            if dead:
                _fail(
                    f"{dead[0]} exited unexpectedly; stopping. See {run_dir / (dead[0] + '.log')}"
                )
                return 1
        _say("stopping...")
    return 0
