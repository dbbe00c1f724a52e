"""The soak benchmark's measurements: nearest-rank percentiles and process memory."""

from __future__ import annotations

import os

from ops.bench.probes import percentile, rss_bytes


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
