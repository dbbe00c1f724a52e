"""The replay report as one self-contained HTML page: inline CSS and SVG charts, no script, no
network. Every text from the log (needs, regions, reasons, partner ids) is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render"]

_BEFORE, _AFTER = "#7a8ca3", "#d9822b"
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;border-radius:6px;
padding:.6em 1em;min-width:11em}.card b{display:block;font-size:1.6em}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left}
.legend span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;vertical-align:middle}
"""


def _num(value: Any) -> str:
    return escape(f"{value:,}" if isinstance(value, int) else str(value))


def _bars(rows: list[tuple[str, float, float]], *, unit: str = "") -> str:
    """Grouped horizontal bars (before, after) per row, as inline SVG."""
    if not rows:
        return "<p>nothing to show</p>"
    peak = max(max(b, a) for _l, b, a in rows) or 1.0
    label_w, bar_w, row_h = 200, 560, 34
    height = row_h * len(rows) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 90}" '
        f'height="{height}" role="img">'
    ]
    for i, (label, before, after) in enumerate(rows):
        y = 5 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" font-size="12">'
            f"{escape(label[:40])}</text>"
        )
        for j, (value, colour) in enumerate(((before, _BEFORE), (after, _AFTER))):
            w = max(0.0, value / peak * bar_w)
            yy = y + j * 14
            parts.append(
                f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" height="12" fill="{colour}">'
                f"<title>{escape(label)}: {escape(str(value))}{unit}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{yy + 10}" font-size="10">'
                f"{escape(str(value))}{unit}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    return (
        f'<p class="legend"><span style="background:{_BEFORE}"></span>policy in force'
        f'<span style="background:{_AFTER}"></span>candidate</p>'
    )


def _segments(table: dict[str, Any], limit: int = 25) -> str:
    busiest = sorted(table.items(), key=lambda kv: -kv[1]["replayed"])[:limit]
    changed = _bars(
        [(k, v["first_choices_changed"], v["decisions_changed"]) for k, v in busiest]
    ).replace(_BEFORE, "#5b8c5a")
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{_num(v['replayed'])}</td>"
        f"<td>{_num(v['first_choices_changed'])}</td><td>{_num(v['decisions_changed'])}</td>"
        f"<td>{_num(v['unroutable_before'])} → {_num(v['unroutable_after'])}</td>"
        f"<td>{_num(v['expected_before']['accepted'])} → "
        f"{_num(v['expected_after']['accepted'])}</td>"
        f"<td>{_num(v['expected_before']['won'])} → {_num(v['expected_after']['won'])}</td></tr>"
        for k, v in busiest
    )
    return (
        '<p class="legend"><span style="background:#5b8c5a"></span>first choices changed'
        f'<span style="background:{_AFTER}"></span>decisions changed</p>{changed}'
        "<table><tr><th></th><th>replayed</th><th>first choices changed</th>"
        "<th>decisions changed</th><th>unroutable</th><th>expected acceptances</th>"
        f"<th>expected wins</th></tr>{rows}</table>"
    )


def _busiest(spread: dict[str, Any]) -> list[tuple[str, float, float]]:
    """The partners busiest under either policy, with their offers under both."""
    before, after = spread.get("busiest_before", {}), spread.get("busiest_after", {})
    names = sorted(set(before) | set(after), key=lambda p: -max(before.get(p, 0), after.get(p, 0)))
    return [(p, before.get(p, 0), after.get(p, 0)) for p in names[:12]]


def render(report: dict[str, Any]) -> str:
    """The page of a ``oppbus replay`` report (the JSON object it prints)."""
    unroutable, spread, exp = report["unroutable"], report["spread"], report["expected"]
    rep = report["reproduction"]
    reasons = sorted(set(unroutable["before"]["reasons"]) | set(unroutable["after"]["reasons"]))
    cards = [
        ("opportunities replayed", report["replayed"]),
        ("decisions changed", report["decisions_changed"]),
        ("first choices changed", report["first_choices_changed"]),
        ("unroutable", f"{unroutable['before']['count']} → {unroutable['after']['count']}"),
        ("expected wins", f"{exp['before']['won']} → {exp['after']['won']}"),
        ("replay reproduces live", f"{rep['reproduced']} / {rep['compared']}"),
    ]
    spread_rows = [
        ("busiest partner's share", spread["before"]["busiest_share"], spread["after"]["busiest_share"]),
        ("Gini of offers", spread["before"]["gini"], spread["after"]["gini"]),
    ]  # fmt: skip
    counts_rows = [
        ("partners offered", spread["before"]["partners_offered"], spread["after"]["partners_offered"]),
        ("partners never offered", spread["before"]["never_offered"], spread["after"]["never_offered"]),
    ]  # fmt: skip
    weights = "".join(
        f"<tr><td>{escape(k)}</td><td>{_num(v)}</td></tr>"
        for k, v in report.get("candidate", {}).get("weights", {}).items()
    )
    differences = "".join(
        f"<tr><td>{escape(k)}</td><td>{_num(n)}</td>"
        f"<td>{escape(rep['explanations'].get(k, ''))}</td></tr>"
        for k, n in rep["differences"].items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oppbus replay report</title>
<style>{_CSS}</style></head><body>
<h1>What-if replay: candidate routing policy</h1>
<p>Candidate {escape(str(report.get("candidate", {}).get("file", "")))} against the policy in force
(versions used: {escape(", ".join(report["policies_in_force"]) or "none")}); window
{escape(str(report.get("window", {}).get("since") or "start"))} to
{escape(str(report.get("window", {}).get("until") or "end"))}.</p>
<div class="cards">{"".join(f'<div class="card"><b>{_num(v)}</b>{escape(k)}</div>' for k, v in cards)}</div>
<h2>Unroutable opportunities by reason</h2>{_legend()}
{_bars([(r, unroutable["before"]["reasons"].get(r, 0), unroutable["after"]["reasons"].get(r, 0)) for r in reasons])}
<h2>How offers spread over partners</h2>{_legend()}{_bars(spread_rows)}{_bars(counts_rows)}
<h3>The busiest partners (offers)</h3>{_legend()}{_bars(_busiest(spread))}
<h2>Expected from observed rates</h2>
<p>Observed acceptance {exp["observed_rates"]["acceptance"]:.1%}, win {exp["observed_rates"]["win"]:.1%}
(network-wide; each partner at its own observed rates).</p>{_legend()}
{_bars([("acceptances", exp["before"]["accepted"], exp["after"]["accepted"]), ("wins", exp["before"]["won"], exp["after"]["won"])])}
<h2>By need</h2>{_segments(report["by_need"])}
<h2>By region</h2>{_segments(report["by_region"])}
<h2>Replay against live</h2>
<p>{_num(rep["reproduced"])} of {_num(rep["compared"])} recorded first choices reproduced with the
policy then in force.</p>
<table><tr><th>difference</th><th>count</th><th>why</th></tr>{differences}</table>
<h2>Candidate policy</h2><table>{weights}</table>
</body></html>
"""
