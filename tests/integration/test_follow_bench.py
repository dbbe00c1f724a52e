"""``oppbus bench follow`` runs (small) on its own embedded broker and reports its figures."""

from __future__ import annotations

import argparse

import pytest

from ops.bench import BENCHES
from ops.bench.follow import add_arguments, run

pytestmark = pytest.mark.kafka


def test_bench_follow_reads_every_record_with_each_reader() -> None:
    assert BENCHES["follow"] == "ops.bench.follow"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    figures = run(parser.parse_args(["--records", "3000", "--partitions", "3", "--rounds", "2"]))
    assert figures["records"] == 3000 and figures["partitions"] == 3
    for name in ("follow", "read_to_end", "bare_aiokafka"):
        assert figures[f"{name}_records_per_s"] > 0
        assert len(figures["per_round_records_per_s"][name]) == 2
