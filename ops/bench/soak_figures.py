"""The soak benchmark's verdict from its samples: start and end windows, growth, pass or fail.

Pure functions over the samples ``{"t": seconds since publishing started, "lag": records,
"rss": bytes, ...}``. *Start* is the mean over the first window after the warm-up, *end* the mean
over the last window of the run (means, not single samples: lag moves with every commit).

The thresholds (docs/performance.md, soak): the target rate still published at the end, no lag
growth, memory growth under 10 % for the workers (together) and for the API process. "At the rate":
the opportunities acknowledged per second over the end window are at least ``MIN_RATE_SHARE`` of
the target (a bus that slows its intake down, e.g. an API answering later and later, would
otherwise keep its lag flat at a lower rate than the one asked for). "No lag growth"
allows a tolerance of ``LAG_TOLERANCE_S`` seconds of input (the worker commits once a second, so a
caught-up worker's sampled lag moves between 0 and about two seconds' worth of records); beyond it,
an end lag above the start lag is growth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "LAG_TOLERANCE_S",
    "MAX_RSS_GROWTH_PCT",
    "MIN_RATE_SHARE",
    "Verdict",
    "growth_pct",
    "judge",
    "rate_in_window",
    "window_mean",
    "windows",
]

MAX_RSS_GROWTH_PCT = 10.0
LAG_TOLERANCE_S = 2.0
MIN_RATE_SHARE = 0.95

Sample = Mapping[str, float]


def windows(warmup: float, duration: float, every: float) -> tuple[tuple[float, float], ...]:
    """The (start, end) windows of a run: each a tenth of the run, 10 to 60 s, at least a sample."""
    span = min(60.0, max(10.0, every, (duration - warmup) / 10))
    return (warmup, warmup + span), (duration - span, duration + every)


def window_mean(samples: Sequence[Sample], lo: float, hi: float, key: str) -> float | None:
    values = [s[key] for s in samples if lo <= s["t"] <= hi and s.get(key) is not None]
    return sum(values) / len(values) if values else None


def rate_in_window(samples: Sequence[Sample], lo: float, hi: float, key: str) -> float | None:
    """How fast the cumulative figure ``key`` (e.g. CPU seconds) rose per second in a window."""
    inside = [s for s in samples if lo <= s["t"] <= hi and s.get(key) is not None]
    if len(inside) < 2 or inside[-1]["t"] <= inside[0]["t"]:
        return None
    return (inside[-1][key] - inside[0][key]) / (inside[-1]["t"] - inside[0]["t"])


def growth_pct(start: float | None, end: float | None) -> float | None:
    if start is None or end is None or start <= 0:
        return None
    return round((end - start) / start * 100, 1)


@dataclass(frozen=True)
class Verdict:
    lag_start: float | None
    lag_end: float | None
    rss_start: float | None
    rss_end: float | None
    lag_ok: bool
    rss_ok: bool
    api_rss_start: float | None = None
    api_rss_end: float | None = None
    api_rss_ok: bool = True  # no API sampled: nothing to judge
    rate_end: float | None = None  # acknowledged opportunities per second over the end window
    rate_target: float | None = None
    rate_ok: bool = True  # no published counts sampled: nothing to judge

    @property
    def passed(self) -> bool:
        return self.rate_ok and self.lag_ok and self.rss_ok and self.api_rss_ok

    @property
    def api_rss_growth_pct(self) -> float | None:
        return growth_pct(self.api_rss_start, self.api_rss_end)

    @property
    def rss_growth_pct(self) -> float | None:
        return growth_pct(self.rss_start, self.rss_end)

    def line(self) -> str:
        """One line for people: PASS/FAIL and each threshold with its figure."""

        def num(v: float | None, scale: float = 1.0, unit: str = "") -> str:
            return "n/a" if v is None else f"{v / scale:,.1f}{unit}"

        lag = f"lag {num(self.lag_start)} -> {num(self.lag_end)}"
        rss = f"worker RSS {num(self.rss_start, 2**20, ' MB')} -> {num(self.rss_end, 2**20, ' MB')}"
        rate = ""
        if self.rate_end is not None:
            target = f"{self.rate_target:g}/s" if self.rate_target is not None else "the target"
            judged = "ok" if self.rate_ok else f"under {MIN_RATE_SHARE:.0%} of {target}"
            rate = f"published {self.rate_end:,.1f}/s at the end ({judged}); "
        elif not self.rate_ok:
            rate = "published n/a at the end; "
        line = (
            f"{'PASS' if self.passed else 'FAIL'}: {rate}{lag} ({'ok' if self.lag_ok else 'GROWS'}); "
            f"{rss} ({_growth(self.rss_growth_pct, self.rss_ok)})"
        )
        if self.api_rss_start is not None or self.api_rss_end is not None:
            api = f"API RSS {num(self.api_rss_start, 2**20, ' MB')} -> "
            api += f"{num(self.api_rss_end, 2**20, ' MB')}"
            line += f"; {api} ({_growth(self.api_rss_growth_pct, self.api_rss_ok)})"
        return line


def _growth(growth: float | None, ok: bool) -> str:
    said = "n/a" if growth is None else f"{growth:+.1f} %"
    return f"{said}, {'ok' if ok else f'not under {MAX_RSS_GROWTH_PCT:g} %'}"


def judge(
    samples: Sequence[Sample], *, warmup: float, duration: float, every: float, rate: float
) -> Verdict:
    """Compare the start and end windows against the thresholds (missing figures fail; the API's
    memory is judged when samples carry ``api_rss``)."""
    (s0, s1), (e0, e1) = windows(warmup, duration, every)
    lag_start = window_mean(samples, s0, s1, "lag")
    lag_end = window_mean(samples, e0, e1, "lag")
    rss_start = window_mean(samples, s0, s1, "rss")
    rss_end = window_mean(samples, e0, e1, "rss")
    lag_ok = (
        lag_start is not None
        and lag_end is not None
        and lag_end <= lag_start + rate * LAG_TOLERANCE_S
    )
    rss_ok = _under_limit(rss_start, rss_end)
    rate_end = rate_in_window(samples, e0, e1, "published")
    judged_rate = any("published" in s for s in samples)
    rate_ok = not judged_rate or (rate_end is not None and rate_end >= MIN_RATE_SHARE * rate)
    api_start = api_end = None
    api_ok = True  # no API sampled: nothing to judge
    if any("api_rss" in s for s in samples):
        api_start = window_mean(samples, s0, s1, "api_rss")
        api_end = window_mean(samples, e0, e1, "api_rss")
        api_ok = _under_limit(api_start, api_end)
    return Verdict(
        lag_start, lag_end, rss_start, rss_end, lag_ok, rss_ok,
        api_rss_start=api_start, api_rss_end=api_end, api_rss_ok=api_ok,
        rate_end=rate_end, rate_target=rate, rate_ok=rate_ok,
    )  # fmt: skip


def _under_limit(start: float | None, end: float | None) -> bool:
    growth = growth_pct(start, end)
    return growth is not None and growth < MAX_RSS_GROWTH_PCT
