"""Benchmarks behind ``oppbus bench NAME``.

Each benchmark is a module exposing ``DESCRIPTION: str``, ``add_arguments(parser)`` and
``run(args) -> dict`` (the figures). It prints progress for people on stderr; ``oppbus bench NAME
--json`` prints the returned figures as one JSON object on the last line of stdout.
Register a new one by adding its module here.
"""

from __future__ import annotations

BENCHES: dict[str, str] = {
    "pipeline": "ops.bench.pipeline",
    # name -> module path; filled in as benchmarks land
    "codec": "ops.bench.codec",
    "soak": "ops.bench.soak",
    "routing": "ops.bench.routing",
    "scorecards": "ops.bench.scorecards",
    "webhooks": "ops.bench.webhooks",
    "api": "ops.bench.api",
    "broker": "ops.bench.broker_fetch",
    "replay": "ops.bench.replay",
    "follow": "ops.bench.follow",
    "startup": "ops.bench.startup",
}

__all__ = ["BENCHES"]
