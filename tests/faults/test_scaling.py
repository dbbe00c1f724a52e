"""Fault 2: scale the workers 1 -> 2 -> 1 under load (two rebalances mid-stream).

Same guarantees as a crash: every acknowledged opportunity offered, no second offer to a partner,
no over-offered round, deadlines still firing.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.figures import report_figures
from tests.faults.procs import WorkerPool, WorkerProc
from tests.faults.scenario import Scenario

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.faults,
]

COUNT = int(os.environ.get("OPPBUS_FAULT_COUNT", "5000"))


async def test_scale_workers_one_two_one_under_load(
    settings: Settings, workers: WorkerPool, unique: str
) -> None:
    await ensure_topics(settings)
    scenario = Scenario(settings, unique, count=COUNT, health=workers.check_alive)
    await scenario.seed()
    await asyncio.to_thread(workers.add)
    added: list[WorkerProc] = []

    def scale_up() -> None:
        added.append(workers.add())

    def scale_down() -> None:
        assert added[0].stop() == 0, added[0].log_tail()

    scenario.cues = [(0.25, "scale-up", scale_up), (0.6, "scale-down", scale_down)]
    acked, elapsed = await scenario.stream()
    outcome = await scenario.verify(acked, elapsed)
    workers.check_alive()
    report_figures("scale workers 1-2-1", **outcome.figures())
    assert len(acked) == COUNT
    assert outcome.report.ok, (
        outcome.report.summary(),
        outcome.lost_detail,
        workers.complaints(),
    )
    assert not outcome.missing_expiries, outcome.missing_expiries[:5]
    assert len(workers.running()) == 1
