"""`oppbus worker` serves its own /metrics (webhook deliveries, worker_up) on its web port."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from ops.procs import stop
from streams.settings import Settings
from tests.integration.polling import wait_for_sync
from tests.ports import child_port

pytestmark = pytest.mark.kafka


def test_worker_serves_metrics_on_its_web_port(settings: Settings) -> None:
    web_port = child_port()  # the worker binds it (tests.ports)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env.update(
        OPPBUS_TOPIC_PREFIX=settings.topic_prefix,
        OPPBUS_APP_ID=settings.app_id,
        OPPBUS_SESSION_TIMEOUT_S="4",
        OPPBUS_WORKER_WEB_PORT=str(web_port),
        OPPBUS_SERVICE_KEY=settings.service_key.get_secret_value(),
        OPPBUS_DATA_KEYS=settings.data_keys.get_secret_value(),
    )
    argv = [sys.executable, "-m", "ops.cli", "worker", "--broker", settings.broker_url]
    proc = subprocess.Popen(
        [*argv, "--partitions", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def scrape() -> str:
        assert proc.poll() is None, f"the worker exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=2) as r:
                return str(r.read().decode())
        except (urllib.error.URLError, OSError):
            return ""

    try:
        text = wait_for_sync(scrape, 60, every=0.3, what="the worker serving /metrics")
    finally:
        stop(proc, timeout=15)
    assert "oppbus_worker_up 1.0" in text
    assert "oppbus_webhook_deliveries_total 0.0" in text
    assert 'oppbus_webhook_failures_total{reason="other"} 0.0' in text
    rss = [line for line in text.splitlines() if line.startswith("oppbus_worker_resident_memory")]
    assert rss and float(rss[0].split()[-1]) > 10e6  # the worker's RSS, read at the scrape
    assert "oppbus_directory_partners " in text
