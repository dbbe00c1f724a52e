"""Every setting is explained in ``oppbus --help`` and in docs/configuration.md, with its default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ops.cli import build_parser
from ops.settings_help import MEANING, default_text, env_name
from streams.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(OPPBUS_[A-Z_]+)` \| [^|]* \| ([^|]+) \| [^|]+ \|$", re.MULTILINE)
FIELDS = sorted(Settings.model_fields)


def _doc_defaults() -> dict[str, str]:
    return {name: default.strip() for name, default in ROW.findall(DOC.read_text())}


@pytest.mark.parametrize("field", FIELDS)
def test_every_setting_is_in_the_doc_with_its_default(field: str) -> None:
    rows = _doc_defaults()
    assert env_name(field) in rows, f"{env_name(field)} missing from {DOC.name}"
    assert rows[env_name(field)] == default_text(field)


def test_the_doc_lists_no_setting_the_class_lacks() -> None:
    assert set(_doc_defaults()) == {env_name(f) for f in FIELDS}


@pytest.mark.parametrize("command", [[], ["up"], ["worker"], ["api"]])
def test_every_setting_is_explained_in_the_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    out = capsys.readouterr().out
    assert set(MEANING) == set(FIELDS)
    for field in FIELDS:
        assert env_name(field) in out, (
            f"{env_name(field)} not in `oppbus {' '.join(command)} --help`"
        )
