"""Fault 3: kill -9 the broker in durable mode mid-stream and start it again on the same data.

Only what the broker acknowledged is expected; all of it must be offered, once per partner.
The S3 server (SeaweedFS) keeps running: it holds every acknowledged record.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.durable import DurableBroker
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings, load_settings
from tests.faults.figures import report_figures
from tests.faults.procs import WorkerPool, alive
from tests.faults.scenario import Scenario
from tests.ports import child_port

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

COUNT = int(os.environ.get("OPPBUS_FAULT_DURABLE_COUNT", "2000"))


@pytest.fixture
def durable(tmp_path: Path) -> Iterator[DurableBroker]:
    broker = DurableBroker(data_dir=tmp_path / "data", port=child_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_restart_the_durable_broker_mid_stream(
    durable: DurableBroker, unique: str, tmp_path: Path
) -> None:
    settings: Settings = load_settings(
        {
            "broker": durable.url,
            "topic_prefix": unique,
            "app_id": unique,
            "session_timeout_s": 4.0,
            "partitions": 2,
        },
        env={},
    )
    await ensure_topics(settings)
    pool = WorkerPool(settings, tmp_path)
    try:
        scenario = Scenario(
            settings, unique, count=COUNT, rate=200.0, health=pool.check_alive, tolerate=True
        )
        await scenario.seed()
        await asyncio.to_thread(pool.add)

        def restart_broker() -> None:
            durable.kill_broker()
            durable.start_broker()

        scenario.cues = [(0.4, "broker-restart", restart_broker)]
        acked, elapsed = await scenario.stream()
        outcome = await scenario.verify(acked, elapsed)
        pool.check_alive()
    finally:
        pids = pool.close()
    assert not [pid for pid in pids if alive(pid)]
    report_figures("restart the durable broker", **outcome.figures())
    assert len(acked) >= COUNT * 0.9, f"only {len(acked)} of {COUNT} acknowledged"
    assert outcome.report.ok, (outcome.report.summary(), outcome.lost_detail)
    assert not outcome.missing_expiries, outcome.missing_expiries[:5]
