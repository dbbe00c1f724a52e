"""`oppbus worker` serves its own /metrics (webhook deliveries, worker_up) on its web port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from ops.procs import free_port, stop
from streams.settings import Settings

pytestmark = pytest.mark.kafka


def test_worker_serves_metrics_on_its_web_port(settings: Settings) -> None:
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env.update(
        OPPBUS_TOPIC_PREFIX=settings.topic_prefix,
        OPPBUS_APP_ID=settings.app_id,
        OPPBUS_SESSION_TIMEOUT_S="4",
        OPPBUS_WORKER_WEB_PORT=str(web_port),
    )
    argv = [sys.executable, "-m", "ops.cli", "worker", "--broker", settings.broker_url]
    proc = subprocess.Popen(
        [*argv, "--partitions", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    text = ""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{web_port}/metrics"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    text = resp.read().decode()
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
    finally:
        stop(proc, timeout=15)
    assert "oppbus_worker_up 1.0" in text, "worker /metrics not served within 60 s"
    assert "oppbus_webhook_deliveries_total 0.0" in text
    assert 'oppbus_webhook_failures_total{reason="other"} 0.0' in text
