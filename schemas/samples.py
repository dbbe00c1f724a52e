"""The checked-in example events of ``schemas/examples/`` (one per event type), loaded and validated.

Each file is ``{"type", "source", "id", "time", "data"}``: the CloudEvents attributes and the event.
``opportunity.published.v1.json`` is the storage opportunity of a networking reseller used by the
demo and the docs; ``schemas/frozen/v1/examples`` keeps the samples of contract version 1 as first
released (compatibility tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from schemas.codec import Encoded, decode_data, encode
from schemas.common import Contract

__all__ = ["EXAMPLES_DIR", "Example", "example", "examples"]

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    type: str
    source: str
    id: str
    time: datetime
    event: Contract

    def encoded(self) -> Encoded:
        return encode(self.event, source=self.source, id=self.id, time=self.time)


def _load(path: Path) -> Example:
    raw = orjson.loads(path.read_bytes())
    return Example(
        name=path.stem,
        type=raw["type"],
        source=raw["source"],
        id=raw["id"],
        time=datetime.fromisoformat(raw["time"]),
        event=decode_data(raw["type"], raw["data"]),
    )


def examples(directory: Path = EXAMPLES_DIR) -> dict[str, Example]:
    """Every example of ``directory`` by CloudEvents type; raises InvalidEvent if one is invalid."""
    loaded = (_load(p) for p in sorted(directory.glob("*.json")))
    return {ex.type: ex for ex in loaded}


def example(ce_type: str) -> Contract:
    """The example event of one type, e.g. ``example("io.oppbus.opportunity.published.v1")``."""
    name = ce_type.removeprefix("io.oppbus.")
    return _load(EXAMPLES_DIR / f"{name}.json").event
