"""Fault 1: kill -9 the only worker three times during a stream of opportunities.

Every acknowledged opportunity is offered, no partner gets a second offer (redeliveries carry the
same referral id and round), no round is over-offered, and the 1 s deadlines still fire.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.figures import report_figures
from tests.faults.procs import WorkerPool
from tests.faults.scenario import Scenario

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.faults,
]

COUNT = int(os.environ.get("OPPBUS_FAULT_COUNT", "5000"))


async def test_kill_9_a_worker_three_times_during_a_stream(
    settings: Settings, workers: WorkerPool, unique: str
) -> None:
    await ensure_topics(settings)
    scenario = Scenario(settings, unique, count=COUNT, health=workers.check_alive)
    await scenario.seed()
    worker = await asyncio.to_thread(workers.add)

    def crash() -> None:
        worker.kill()
        worker.start().wait_ready()

    scenario.cues = [(0.2, "kill-1", crash), (0.45, "kill-2", crash), (0.7, "kill-3", crash)]
    acked, elapsed = await scenario.stream()
    outcome = await scenario.verify(acked, elapsed)
    workers.check_alive()
    report_figures("kill -9 a worker 3x", **outcome.figures())
    assert len(acked) == COUNT
    assert outcome.report.ok, (
        outcome.report.summary(),
        outcome.lost_detail,
        workers.complaints(),
    )
    assert not outcome.missing_expiries, outcome.missing_expiries[:5]
    assert worker.starts == 4
