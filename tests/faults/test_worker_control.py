"""The harness itself: workers are real `oppbus worker` processes that die on kill -9 and restart."""

from __future__ import annotations

import pytest

from tests.faults.procs import WorkerPool, alive, descendants

pytestmark = [pytest.mark.kafka, pytest.mark.faults]


def test_a_worker_killed_with_sigkill_is_gone_and_starts_again(workers: WorkerPool) -> None:
    first = workers.add()
    workers.check_alive()
    pid = first.pid
    children = descendants(pid) if pid else set()
    first.kill()
    assert not alive(pid)
    assert not [c for c in children if alive(c)]
    first.start().wait_ready()
    second = workers.add()
    workers.check_alive()
    assert first.starts == 2 and len(workers.running()) == 2
    assert second.stop() == 0, second.log_tail()
