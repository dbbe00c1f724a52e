"""The soak benchmark's verdict (its thresholds) and its partners' answers, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime

from ops.bench.soak_figures import growth_pct, judge, rate_in_window, window_mean, windows
from ops.bench.soak_load import ORIGINATOR, answers, opportunity
from schemas.referrals import AcceptReferral, OfferMade, ReportOutcome, teaser_of

MB = 2**20


def _samples(lag: list[float], rss_mb: list[float], every: float = 5.0) -> list[dict]:
    return [
        {"t": i * every, "lag": a, "rss": b * MB}
        for i, (a, b) in enumerate(zip(lag, rss_mb, strict=True))
    ]


def test_windows_are_a_tenth_of_the_measured_run_between_10_and_60_seconds() -> None:
    assert windows(90, 600, 5) == ((90, 141), (549, 605))
    assert windows(30, 120, 5) == ((30, 40), (110, 125))
    assert windows(120, 3600, 5) == ((120, 180), (3540, 3605))


def test_a_steady_run_passes_and_the_figures_are_window_means() -> None:
    n = 121  # 600 s sampled every 5 s
    lag = [150.0 + (i % 3) * 100 for i in range(n)]  # commits once a second: it wobbles
    rss = [100.0 + (5 if i > 20 else i / 4) for i in range(n)]
    verdict = judge(_samples(lag, rss), warmup=90, duration=600, every=5, rate=200)
    assert verdict.passed and verdict.lag_ok and verdict.rss_ok
    assert verdict.rss_growth_pct is not None and 0 <= verdict.rss_growth_pct < 10
    assert verdict.line().startswith("PASS: lag ")
    assert window_mean([{"t": 1.0, "lag": 3.0}, {"t": 9.0, "lag": 5.0}], 0, 10, "lag") == 4.0


def test_growing_lag_or_memory_fails_and_says_which() -> None:
    n = 121
    growing_lag = [100.0 * i for i in range(n)]
    flat_rss = [100.0] * n
    lag_fail = judge(_samples(growing_lag, flat_rss), warmup=90, duration=600, every=5, rate=200)
    assert not lag_fail.passed and not lag_fail.lag_ok and lag_fail.rss_ok
    assert "GROWS" in lag_fail.line() and lag_fail.line().startswith("FAIL")
    leaking = [100.0 + i for i in range(n)]
    rss_fail = judge(_samples([0.0] * n, leaking), warmup=90, duration=600, every=5, rate=200)
    assert rss_fail.lag_ok and not rss_fail.rss_ok and "not under 10 %" in rss_fail.line()
    assert growth_pct(100.0, 110.0) == 10.0 and growth_pct(None, 1.0) is None
    # a run too short to have an end window distinct from nothing: missing figures fail
    assert not judge([], warmup=90, duration=600, every=5, rate=200).passed


def test_the_apis_memory_is_judged_too_when_it_was_sampled() -> None:
    """A soak with an API process fails when the API's memory grows (its read model keeping
    every opportunity), even with flat workers, and says it is the API's."""
    n = 121
    samples = _samples([150.0] * n, [100.0] * n)
    for i, sample in enumerate(samples):
        sample["api_rss"] = (200.0 + i) * MB  # +0.5 MB per 5 s
    verdict = judge(samples, warmup=90, duration=600, every=5, rate=200)
    assert verdict.rss_ok and not verdict.api_rss_ok and not verdict.passed
    assert verdict.api_rss_growth_pct is not None and verdict.api_rss_growth_pct > 10
    assert "API RSS" in verdict.line() and verdict.line().endswith("not under 10 %)")
    for sample in samples:
        sample["api_rss"] = 200.0 * MB
    steady = judge(samples, warmup=90, duration=600, every=5, rate=200)
    assert steady.passed and steady.api_rss_growth_pct == 0.0 and "API RSS" in steady.line()


def test_a_run_whose_intake_slowed_fails_even_with_a_flat_lag() -> None:
    """Acknowledged opportunities are sampled: a bus that kept its lag flat by accepting fewer
    (an API answering later and later) did not hold the rate it was asked for, and says so."""
    n = 121  # 600 s sampled every 5 s
    samples = _samples([150.0] * n, [100.0] * n)
    published = 0.0
    for i, sample in enumerate(samples):
        published += 5 * (200 if i < 100 else 170)  # the last 100 s at 170/s
        sample["published"] = published
    slowed = judge(samples, warmup=90, duration=600, every=5, rate=200)
    assert slowed.lag_ok and slowed.rss_ok and not slowed.rate_ok and not slowed.passed
    assert slowed.rate_end is not None and round(slowed.rate_end) == 170
    assert slowed.line().startswith("FAIL: published 170.0/s at the end (under 95% of 200/s); ")
    published = 0.0
    for i, sample in enumerate(samples):
        published += 5 * (200 if i % 2 else 190)  # the publisher's ticks wobble: within 5 %
        sample["published"] = published
    steady = judge(samples, warmup=90, duration=600, every=5, rate=200)
    assert steady.passed and steady.line().startswith("PASS: published 195.0/s at the end (ok); ")
    # a sampled run without a figure in its end window fails rather than passing unjudged
    late = [s for s in samples if s["t"] < 500]
    assert not judge(late, warmup=90, duration=600, every=5, rate=200).rate_ok


def test_partners_accept_and_win_each_offer_or_the_originator_withdraws() -> None:
    opp = opportunity("soakx", 7)
    offer = OfferMade(
        referral_id="ref_0123456789abcdef0123",
        opportunity_id=opp.opportunity_id,
        originator=ORIGINATOR,
        partner_id="soak-store-001",
        round=1,
        rank=1,
        score=0.5,
        teaser=teaser_of(opp),
        offered_at=datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        expires_at=datetime(2026, 11, 24, 7, 0, tzinfo=UTC),
    )
    accept, won = answers(offer, "win")
    assert isinstance(accept, AcceptReferral) and isinstance(won, ReportOutcome)
    assert won.status == "won" and won.referral_id == accept.referral_id == offer.referral_id
    (withdrawn,) = answers(offer, "withdraw")
    assert withdrawn.opportunity_id == opp.opportunity_id
    assert answers(offer, "none") == []


def test_progress_line_says_where_a_long_run_is() -> None:
    from ops.bench.soak_samples import SoakRun, _progress
    from streams.settings import Settings

    run = SoakRun(settings=Settings(), run_id="r", acked=12_000, answered=20_000)
    sample = {"t": 60.4, "lag": 1500.0, "lag_responses": 7.0, "rss": 140 * 2**20, "offered": 11_900}
    run.samples.append(sample)
    line = _progress(sample, run, since=30.0)
    assert line == (
        "soak: 60 s, published 12,000, offered 11,900, answers 20,000, lag 1,500 (responses 7), "
        "worker RSS 140.0 MB"
    )
    # with the embedded broker sampled: its CPU share since the last line and its memory
    run.samples[:] = [
        {**sample, "t": 30.0, "broker_cpu_s": 10.0, "broker_rss": 900 * 2**20},
        {**sample, "broker_cpu_s": 37.36, "broker_rss": 1200 * 2**20},
    ]
    line = _progress(run.samples[-1], run, since=30.0)
    assert line.endswith("worker RSS 140.0 MB, broker 90 % CPU, 1,200 MB")
    # and each process's share of a core: where the machine's cores go as the run ages
    run.samples[0].update(worker_cpu_s=5.0, api_cpu_s=1.0, bench_cpu_s=2.0)
    run.samples[1].update(worker_cpu_s=20.2, api_cpu_s=13.16, bench_cpu_s=8.08)
    line = _progress(run.samples[-1], run, since=30.0)
    assert line.endswith("broker 90 % CPU, 1,200 MB; CPU workers 50 %, API 40 %, bench 20 %")


def test_rate_in_window_is_the_slope_of_a_cumulative_figure() -> None:
    samples = [{"t": float(t), "cpu": t * 0.5} for t in range(0, 100, 5)]
    assert rate_in_window(samples, 10, 50, "cpu") == 0.5
    assert rate_in_window(samples, 10, 12, "cpu") is None  # one sample: no rate
    assert rate_in_window([{"t": 1.0}, {"t": 2.0}], 0, 5, "cpu") is None  # not sampled


def test_request_times_are_reported_over_the_run_and_at_its_end() -> None:
    from ops.bench.soak import _request_figures

    seconds = [0.1] * 90 + [0.4] * 10  # the last tenth slower: the broker ages
    figures = _request_figures(seconds)
    assert figures == {
        "request_p50_ms": 100.0,
        "request_p99_ms": 400.0,
        "request_p50_ms_end": 400.0,
        "request_p99_ms_end": 400.0,
    }
    assert _request_figures([]) == {}  # published on the bus: no requests
