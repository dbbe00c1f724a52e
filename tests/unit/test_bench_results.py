"""``oppbus bench NAME --append-results``: dated JSON lines, never prose; the results files stay valid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from ops.bench.results import DEFAULT_RESULTS, append_result, result_line
from ops.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
RESULT_FILES = [
    ROOT / "docs" / "performance-results.jsonl",
    ROOT / "docs/reliability/fault-results.jsonl",
]


def test_a_result_line_is_the_json_figures_with_date_source_and_options() -> None:
    when = datetime(2026, 12, 4, 18, 0, 5, tzinfo=UTC)
    line = result_line("routing", {"p50_us": 76.0}, {"sizes": "1000", "out": Path("x")}, when)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    row = orjson.loads(line)
    assert row.pop("host_loadavg_1m") >= 0
    assert row == {
        "date": "2026-12-04T18:00:05Z",
        "source": "oppbus bench routing",
        "options": {"sizes": "1000", "out": "x"},
        "bench": "routing",
        "p50_us": 76.0,
    }


def test_lines_are_appended_and_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    append_result(target, b'{"a":1}\n')
    append_result(target, b'{"a":2}\n')
    assert target.read_text().splitlines() == ['{"a":1}', '{"a":2}']
    with pytest.raises(FileNotFoundError):
        append_result(tmp_path / "nowhere" / "results.jsonl", b"{}\n")


def test_the_flag_defaults_to_the_docs_results_file() -> None:
    args = build_parser().parse_args(["bench", "codec", "--append-results"])
    assert args.append_results == DEFAULT_RESULTS
    args = build_parser().parse_args(["bench", "codec", "--append-results", "other.jsonl"])
    assert args.append_results == Path("other.jsonl")
    assert build_parser().parse_args(["bench", "codec"]).append_results is None


@pytest.mark.parametrize("path", RESULT_FILES, ids=lambda p: p.name)
def test_every_recorded_result_is_one_dated_json_object_with_its_source(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines
    for line in lines:
        row = orjson.loads(line)
        assert isinstance(row, dict)
        assert row["date"][:4].isdigit() and row["source"]
        assert row.get("bench") or row.get("suite")
