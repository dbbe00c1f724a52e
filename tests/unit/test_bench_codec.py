"""`oppbus bench codec` runs end to end on a small N and reports both figures and their ratio."""

from __future__ import annotations

import orjson
import pytest

from ops.cli import main
from schemas.codec import decode


def test_bench_codec_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "codec", "--events", "300", "--rounds", "1", "--json"]) == 0
    figures = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["bench"] == "codec" and figures["events"] == 300
    for key in ("oppbus_events_per_s", "baseline_json_pydantic_events_per_s"):
        assert figures[key] > 0
    ratio = figures["oppbus_events_per_s"] / figures["baseline_json_pydantic_events_per_s"]
    assert figures["ratio_oppbus_vs_baseline"] == pytest.approx(ratio, rel=0.01)


def test_bench_events_are_distinct_and_valid() -> None:
    from ops.bench.codec import make_events

    events = make_events(50)
    assert len({opp.opportunity_id for opp, _ in events}) == 50
    for opp, enc in events:
        assert decode(enc.value, enc.headers).event == opp
