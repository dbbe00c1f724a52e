"""``oppbus bench startup`` starts ``oppbus up`` for real and reports how soon it routes."""

from __future__ import annotations

import argparse

import pytest

from ops.bench import BENCHES
from ops.bench.startup import add_arguments, run

pytestmark = pytest.mark.kafka


def test_bench_startup_times_ready_healthy_and_the_first_offer() -> None:
    assert BENCHES["startup"] == "ops.bench.startup"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    figures = run(parser.parse_args(["--runs", "1"]))
    assert figures["runs"] == 1
    assert 0 < figures["broker_s_median"] < figures["healthy_s_median"]
    # ready is said when /healthz says 200 (polled apart, so either may be seen first)
    assert abs(figures["ready_s_median"] - figures["healthy_s_median"]) < 2.0
    # an offer made after the publish, by the router's clock (no bound here: a loaded CI)
    assert figures["first_offer_s_median"] > 0
    assert isinstance(figures["target_met"], bool)
