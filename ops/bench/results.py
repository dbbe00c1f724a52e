"""The benches' results file: each run's ``--json`` figures as one dated JSON line.

``oppbus bench NAME --append-results`` appends to ``docs/performance-results.jsonl`` (of the current
directory: run it from the repository root) or to the file given. Figures are machine output: they
are appended, never edited by hand (docs/performance.md explains each bench).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = ["DEFAULT_RESULTS", "append_result", "result_line"]

DEFAULT_RESULTS = Path("docs") / "performance-results.jsonl"


def result_line(
    bench: str, figures: Mapping[str, Any], options: Mapping[str, Any], now: datetime
) -> bytes:
    """The dated line: when, the command and its options, then the figures as ``--json`` prints."""
    head = {
        "date": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": f"oppbus bench {bench}",
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        # the machine's load when the run ended: figures of a loaded shared machine are noise
        "host_loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    return orjson.dumps({**head, "bench": bench, **figures}) + b"\n"


def append_result(path: Path, line: bytes) -> None:
    """Append ``line``; the file's directory must exist (a typo is not silently a new tree)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no directory {path.parent} for the results file {path}")
    with path.open("ab") as out:
        out.write(line)
