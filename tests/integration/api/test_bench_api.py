"""``oppbus bench api`` runs end to end (small) and reports every figure."""

from __future__ import annotations

import argparse

import pytest

from ops.bench import BENCHES
from ops.bench.api import add_arguments, run
from ops.broker import EmbeddedBroker

pytestmark = pytest.mark.kafka


def test_bench_api_reports_http_raw_and_sse_figures(broker: EmbeddedBroker) -> None:
    assert BENCHES["api"] == "ops.bench.api"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--requests", "20", "--concurrency", "4", "--leads", "5", "--rounds", "1",
         "--broker", broker.url]
    )  # fmt: skip
    figures = run(args)
    assert figures["http_post_per_s"] > 0 and figures["raw_producer_per_s"] > 0
    assert 0 < figures["http_over_raw"]
    assert figures["sse_ack_to_client_p50_ms"] <= figures["sse_ack_to_client_p99_ms"]
