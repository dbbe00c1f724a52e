"""``oppbus demo`` on the embedded broker, as a person runs it, then /metrics and the status page.

The demo starts its own bus (embedded broker, worker, API), tells the story, and keeps the bus
running; the test then reads /metrics, loads /status in headless Chromium (DOM and screenshot), and
stops the demo with Ctrl-C (SIGINT), which must leave nothing running.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from ops.demo_client import funnel_counts
from ops.procs import port_in_use
from tests.integration import chromium
from tests.integration.polling import wait_for_sync
from tests.ports import child_port

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
# The story's funnel: two opportunities (one waits for a partner), offered twice (a decline, a
# re-offer); nothing is given up as unroutable.
STORY = {"published": 2, "offered": 2, "declined": 1, "accepted": 1, "won": 1}


def _pump(
    proc: subprocess.Popen[str], marker: str
) -> tuple[list[str], threading.Event, threading.Thread]:
    """Read the demo's output to the end in a thread; the event is set once ``marker`` shows."""
    lines: list[str] = []
    seen = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if marker in line:
                seen.set()
        seen.set()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, seen, thread


def test_demo_tells_the_story_and_leaves_metrics_and_status_page_populated(tmp_path):
    chromium.chromium_binary()  # fail on CI / skip locally before starting anything
    http_port, broker_port = child_port(), child_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env["OPPBUS_WORKER_WEB_PORT"] = str(child_port())  # not http_port + 1, which may be taken
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ops.cli", "demo", "--log-level", "warning"),
            *("--http-port", str(http_port), "--broker-port", str(broker_port)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{http_port}"
    lines, seen, reader = _pump(proc, "The bus keeps running")
    try:
        seen.wait(240)
        output = "\n".join(lines)
        assert "The bus keeps running" in output, output
        for step in ("[1/6]", "[3/6]", "declines (no_capacity)", "re-offered", "accepts"):
            assert step in output, output
        assert re.search(r"won 248,000 USD", output), output
        assert "customer revealed to" in output
        # the VAR's active partnership is one of the reasons its partner is offered first
        assert "northwind-networks and contoso-storage agree a partnership" in output
        assert re.search(r"offered to contoso-storage \(rank 1, .*partnership 1 x 2 = ", output)
        assert "never offered to tailspin-msp, adatum-distribution, wingtip-storage" in output

        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            exposition = resp.read().decode()
        counts = funnel_counts(exposition)
        assert {k: counts.get(k) for k in STORY} == STORY
        assert not counts.get("unroutable")
        assert 'oppbus_revenue_won_total{currency="USD"} 248000.0' in exposition
        assert 'oppbus_offers_declined_total{reason="no_capacity"} 1.0' in exposition
        assert "oppbus_publish_to_offer_seconds_count 1.0" in exposition

        dom = chromium.dump_dom(base + "/status", tmp_path)
        shown = {"published": 2, "offered": 2, "accepted": 1, "won": 1, "declined": 1}
        for step, count in shown.items():
            assert re.search(f'data-step="{step}"[^>]*>{count}<', dom), (step, dom[-3000:])
        # Nobody in the network offers printing: it waits for a partner instead of being given up.
        assert re.search('data-step="unroutable"[^>]*>0<', dom), dom[-3000:]
        assert "248,000 USD" in dom
        png = chromium.screenshot(base + "/status", tmp_path)
        width, height, colours = chromium.png_pixels(png)
        assert (width, height) == (1280, 1000)
        assert len(colours) > 50, "the screenshot is (nearly) blank"
        for colour in ("#60a5fa", "#a78bfa", "#34d399", "#fbbf24"):  # the four funnel bars
            assert chromium.near(colours, colour) > 100, f"no {colour} bar in the screenshot"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            pytest.fail("the demo did not stop within 60 s of Ctrl-C")
        finally:
            reader.join(timeout=10)
            assert proc.stdout is not None
            proc.stdout.close()
    assert code == 0
    wait_for_sync(
        lambda: not port_in_use("127.0.0.1", http_port), 10, every=0.2, what="the API's port freed"
    )
    assert not port_in_use("127.0.0.1", broker_port), "the broker outlived the demo"


def test_demo_runs_twice_against_a_running_bus(tmp_path):
    """Regression: a second run on the same bus was flagged as a conflict (same customer and
    need) and offered to the first run's partners; each run now has its own ids, customer domain
    and consent scope, and counts its own story on top of what /metrics showed before."""
    http_port, broker_port = child_port(), child_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")}
    env.update(OPPBUS_ADMIN_TOKEN="demo-test-token", OPPBUS_WORKER_WEB_PORT=str(child_port()))
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ops.cli",
            "up",
            "--log-level",
            "warning",
            "--http-port",
            str(http_port),
            "--broker-port",
            str(broker_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        outputs = []
        for _ in range(2):
            run = subprocess.run(
                [sys.executable, "-m", "ops.cli", "demo", "--api", base],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
            outputs.append(run.stdout)
        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            counts = funnel_counts(resp.read().decode())
        assert {k: counts.get(k) for k in STORY} == {k: 2 * v for k, v in STORY.items()}
        assert "published 4 · offered 4" in outputs[1]
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(timeout=10)
