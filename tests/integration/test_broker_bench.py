"""``oppbus bench broker`` runs (small) on its own embedded broker and reports its figures."""

from __future__ import annotations

import argparse

import pytest

from ops.bench import BENCHES
from ops.bench.broker_fetch import add_arguments, run, slope

pytestmark = pytest.mark.kafka


def test_slope_is_least_squares() -> None:
    assert slope([(0, 1.0), (10, 21.0), (20, 41.0)]) == pytest.approx(2.0)
    assert slope([(5, 1.0), (5, 2.0)]) is None


def test_bench_broker_fetches_the_tail_of_each_log_length() -> None:
    assert BENCHES["broker"] == "ops.bench.broker_fetch"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    figures = run(parser.parse_args(["--sizes", "300", "50", "--fetches", "5", "--batch", "30"]))
    assert [row["batches"] for row in figures["sizes"]] == [50, 300]
    for row in figures["sizes"]:
        for kind in ("single", "one_batch_topic"):
            assert row[kind]["wall_ms"] > 0 and row[kind]["broker_cpu_ms"] >= 0
    assert figures["batched"]["records"] == 300 and figures["batched"]["records_per_batch"] == 30
    assert figures["fetches_per_size"] == 5
    assert figures["broker_cpu_us_per_stored_batch"] is not None
