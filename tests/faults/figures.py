"""Figures of the fault suite: one JSON line per fault, appended to docs/reliability/fault-results.jsonl."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import orjson

__all__ = ["REPORT_ENV", "report_figures"]

REPORT_ENV = "OPPBUS_FAULT_REPORT"


def report_figures(fault: str, **figures: object) -> None:
    """Print one fault's figures (``pytest -s`` shows them) and append them, with the date, to
    ``$OPPBUS_FAULT_REPORT`` when set (docs/reliability/fault-results.jsonl is made of these lines)."""
    line = orjson.dumps({"fault": fault, **figures}).decode()
    print(f"FAULT-REPORT {line}")
    target = os.environ.get(REPORT_ENV)
    if target:
        dated = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": "pytest -m faults",
            "suite": "faults",
            "fault": fault,
            **figures,
        }
        with open(target, "a", encoding="utf-8") as out:
            out.write(orjson.dumps(dated).decode() + "\n")
