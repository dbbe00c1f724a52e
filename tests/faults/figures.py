"""Figures of the fault suite: one JSON line per fault, the source of the README's table."""

from __future__ import annotations

import os

import orjson

__all__ = ["REPORT_ENV", "report_figures"]

REPORT_ENV = "OPPBUS_FAULT_REPORT"


def report_figures(fault: str, **figures: object) -> None:
    """Print one fault's figures (``pytest -s`` shows them) and append them to
    ``$OPPBUS_FAULT_REPORT`` when set: the README's fault table is made from these lines."""
    line = orjson.dumps({"fault": fault, **figures}).decode()
    print(f"FAULT-REPORT {line}")
    target = os.environ.get(REPORT_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")
