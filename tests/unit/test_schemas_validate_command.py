"""``oppbus schemas validate`` passes on the shipped examples and names what is wrong otherwise."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ops.cli import main
from schemas.samples import EXAMPLES_DIR

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
OPP = "io.oppbus.opportunity.published.v1"


def test_the_shipped_examples_validate_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "validate"]) == 0  # no file: the shipped examples
    assert main(["schemas", "validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.count(": valid io.oppbus.") == 2 * len(EXAMPLES)
    assert (
        main(["schemas", "validate", OPP, str(EXAMPLES_DIR / "opportunity.published.v1.json")]) == 0
    )


def test_bare_data_and_broken_events_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = orjson.loads((EXAMPLES_DIR / "opportunity.published.v1.json").read_bytes())
    data = tmp_path / "data.json"
    data.write_bytes(orjson.dumps(example["data"]))
    assert main(["schemas", "validate", OPP, str(data)]) == 0
    assert main(["schemas", "validate", str(data)]) == 1  # bare data needs its type
    broken = tmp_path / "broken.json"
    example["data"]["region"] = "Atlantis"
    broken.write_bytes(orjson.dumps(example))
    capsys.readouterr()
    assert main(["schemas", "validate", str(broken)]) == 1
    assert '"field":"region"' in capsys.readouterr().out
    assert main(["schemas", "validate", OPP]) == 2  # a type and no file
