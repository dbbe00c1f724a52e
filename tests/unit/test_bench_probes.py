"""The soak benchmark's measurements: nearest-rank percentiles, process memory and CPU."""

from __future__ import annotations

import os
import time

from ops.bench.probes import cpu_seconds, percentile, rss_bytes


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.99) is None


def test_rss_of_this_process_and_of_a_missing_one() -> None:
    mine = rss_bytes(os.getpid())
    assert mine is not None and mine > 10 * 2**20
    assert rss_bytes(2**22 + 12345) is None


def test_cpu_seconds_of_this_process_grow_with_work_and_a_missing_one_is_none() -> None:
    before = cpu_seconds(os.getpid())
    assert before is not None
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # 0.2 s of CPU, measured by the process clock
        pass
    after = cpu_seconds(os.getpid())
    assert after is not None and after - before >= 0.1
    assert cpu_seconds(2**22 + 12345) is None
