"""The replay's HTML report is self-contained and escapes what it shows; the status page shows
the policy version in force."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from ops.funnel import FunnelRecorder
from ops.replay.report_html import render
from ops.status_board import StatusBoard
from schemas.codec import decode, encode
from schemas.policy import RoutingPolicy
from streams.metrics import ReferralMetrics
from tests.unit.replay.test_replay import base_history, opp_at, run

HOSTILE = '<script>alert("x")</script><img src=https://evil.example/x>'


def _report() -> dict:
    report = run([*base_history(), opp_at(0), opp_at(1, needs=("iot",))]).report()
    report["candidate"] = {"file": HOSTILE, "weights": {"fit": 3.0}}
    report["window"] = {"since": HOSTILE, "until": None}
    report["by_need"][HOSTILE] = report["by_need"]["storage"]
    report["spread"]["busiest_after"][HOSTILE] = 9
    report["reproduction"]["differences"] = {"stats_timing": 1}
    report["reproduction"]["explanations"] = {"stats_timing": HOSTILE}
    return report


def test_the_report_is_one_page_with_inline_svg_and_nothing_fetched() -> None:
    page = render(_report())
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 6
    assert "<script" not in page and "<img" not in page and "<link" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>&]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "https://evil.example/x"}
    assert "&lt;img src=https://evil.example/x&gt;" in page  # shown as text, never loaded


def test_the_status_board_shows_the_version_in_force() -> None:
    board = StatusBoard()
    recorder = FunnelRecorder(ReferralMetrics(CollectorRegistry()), board)
    assert board.summary()["policy"] == {"version": 0, "applied_at": None}
    at = datetime(2027, 2, 20, 8, 0, tzinfo=UTC)
    for version, weights in ((2, {"load": 3.0}), (1, {}), (3, {"lod": 1.0})):
        event = RoutingPolicy(version=version, weights=weights, applied_at=at)
        enc = encode(event, source="test", id=f"p{version}")
        recorder.record(decode(enc.value, enc.headers))
    # version 1 is older, version 3 unusable: version 2 stays in force
    assert board.summary()["policy"] == {"version": 2, "applied_at": "2027-02-20T08:00:00Z"}
