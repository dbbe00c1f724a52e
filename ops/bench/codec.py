"""``oppbus bench codec``: decode + validate opportunity events, ours next to plain json + pydantic.

The same N encoded opportunity events (CloudEvents binary: value + ``ce_*`` headers, each a
different opportunity) go through:

* ``oppbus``: :func:`schemas.codec.decode` — CloudEvents headers checked, body parsed and validated
  by ``Opportunity.model_validate_json`` (what every worker and the API do);
* ``baseline``: ``json.loads`` + ``Opportunity.model_validate`` on the same bytes (no header work);
* for reference, without header work: ``orjson.loads`` + ``model_validate`` (``orjson_validate``)
  and ``Opportunity.model_validate_json`` alone (``pydantic_json``).

The variants are interleaved in chunks of 5,000 events with a rotating order, and each one's total
time over all rounds gives its rate, because the machine is shared and noisy: slow phases hit all
variants alike. Every decoded event is compared with the
original in a separate check pass, so a fast but wrong codec cannot pass.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from schemas.codec import Encoded, decode, encode
from schemas.opportunity import Opportunity
from schemas.samples import example

__all__ = ["DESCRIPTION", "add_arguments", "make_events", "run"]

DESCRIPTION = (
    "Decode and validate N opportunity events with the oppbus codec (CloudEvents headers + orjson "
    "+ pydantic) and, in the same run, with plain json + pydantic model_validate; events/s and ratio."
)

_OPP = "io.oppbus.opportunity.published.v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=100_000, help="events per run (100000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; median (3)")


def make_events(n: int) -> list[tuple[Opportunity, Encoded]]:
    """N distinct opportunities (ids, sizes, regions, needs, dates vary) and their encodings."""
    base = example(_OPP)
    assert isinstance(base, Opportunity)
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    regions = ("US-CA", "US-NY", "DE-BY", "GB", "FR", "US")
    needs = (
        ("storage", "backup"),
        ("storage",),
        ("storage", "cloud"),
        ("storage", "disaster-recovery"),
    )
    out: list[tuple[Opportunity, Encoded]] = []
    for i in range(n):
        opp = base.model_copy(
            update={
                "opportunity_id": f"nw-{i:08d}",
                "published_at": t0 + timedelta(seconds=i),
                "region": regions[i % len(regions)],
                "needs": needs[i % len(needs)],
                "expected_close": date(2027, 1, 1) + timedelta(days=i % 365),
                "deal_size": base.deal_size.model_copy(
                    update={"amount": Decimal(10_000 + (i * 37) % 990_000) / 100}
                ),
            }
        )
        out.append((opp, encode(opp, source="urn:oppbus:bench", id=f"e{i}", time=t0)))
    return out


def _ours(encoded: list[Encoded]) -> None:
    for enc in encoded:
        decode(enc.value, enc.headers)


def _baseline(encoded: list[Encoded]) -> None:
    validate = Opportunity.model_validate
    for enc in encoded:
        validate(json.loads(enc.value))


def _orjson_validate(encoded: list[Encoded]) -> None:
    validate, loads = Opportunity.model_validate, orjson.loads
    for enc in encoded:
        validate(loads(enc.value))


def _pydantic_json(encoded: list[Encoded]) -> None:
    validate = Opportunity.model_validate_json
    for enc in encoded:
        validate(enc.value)


def _timed(fn: Callable[[list[Encoded]], None], encoded: list[Encoded]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn(encoded)
    return time.perf_counter() - start


def _check(events: list[tuple[Opportunity, Encoded]]) -> None:
    for opp, enc in events:
        if decode(enc.value, enc.headers).event != opp:
            raise AssertionError(f"decoded event differs: {opp.opportunity_id}")
        if Opportunity.model_validate(json.loads(enc.value)) != opp:
            raise AssertionError(f"baseline decoded event differs: {opp.opportunity_id}")


_CHUNK = 5_000


def run(args: argparse.Namespace) -> dict[str, Any]:
    n, rounds = max(1, args.events), max(1, args.rounds)
    print(f"encoding {n} opportunity events ...", file=sys.stderr)
    start = time.perf_counter()
    events = make_events(n)
    encode_s = time.perf_counter() - start
    encoded = [enc for _, enc in events]
    _check(events[: min(n, 2000)])
    # The test data (N events) is moved out of the collector's sight, like a worker's small live heap:
    # otherwise every full collection triggered by decoding traverses it and skews the figures.
    gc.collect()
    gc.freeze()
    variants = [
        ("oppbus", _ours),
        ("baseline", _baseline),
        ("orjson_validate", _orjson_validate),
        ("pydantic_json", _pydantic_json),
    ]
    total = dict.fromkeys((name for name, _ in variants), 0.0)
    chunks = [encoded[i : i + _CHUNK] for i in range(0, n, _CHUNK)]
    try:
        for r in range(rounds):
            for c, chunk in enumerate(chunks):  # interleaved in small chunks, order rotating
                k = (r * len(chunks) + c) % len(variants)
                for name, fn in variants[k:] + variants[:k]:
                    total[name] += _timed(fn, chunk)
            done = (r + 1) * n
            print(
                f"round {r + 1}/{rounds}: "
                + ", ".join(f"{name} {done / t:,.0f}/s" for name, t in total.items()),
                file=sys.stderr,
            )
    finally:
        gc.unfreeze()
    rate = {name: n * rounds / t for name, t in total.items()}
    sizes = [len(e.value) for e in encoded]
    return {
        "events": n,
        "rounds": rounds,
        "mean_value_bytes": round(sum(sizes) / n, 1),
        "oppbus_events_per_s": round(rate["oppbus"]),
        "baseline_json_pydantic_events_per_s": round(rate["baseline"]),
        "ratio_oppbus_vs_baseline": round(rate["oppbus"] / rate["baseline"], 3),
        "orjson_loads_model_validate_events_per_s": round(rate["orjson_validate"]),
        "pydantic_validate_json_events_per_s": round(rate["pydantic_json"]),
        "encode_events_per_s_incl_model_copy": round(n / encode_s),
    }
