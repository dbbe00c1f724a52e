"""``oppbus bench webhooks`` runs end to end (small) on the session broker and reports its figures."""

from __future__ import annotations

import argparse

import pytest

from ops.bench import BENCHES
from ops.bench.webhooks import add_arguments, run
from ops.broker import EmbeddedBroker

pytestmark = pytest.mark.kafka


def test_bench_webhooks_reports_exactly_once_deliveries(broker: EmbeddedBroker) -> None:
    assert BENCHES["webhooks"] == "ops.bench.webhooks"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--leads",
            "60",
            "--partners",
            "3",
            "--rounds",
            "1",
            "--timeout",
            "5",
            "--broker",
            broker.url,
        ]
    )
    figures = run(args)
    assert figures["exactly_once"] is True
    assert figures["leads"] == 60 and figures["rounds"] == 1
    for key in (
        "raw_posts_per_s",
        "dispatcher_deliveries_per_s",
        "with_hanging_partner_deliveries_per_s",
    ):
        assert figures[key] > 0
