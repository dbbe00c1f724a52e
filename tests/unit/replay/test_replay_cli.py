"""``oppbus policy apply`` and ``oppbus replay`` refuse bad input in one line, before any broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.cli import main

NO_BROKER = ["--broker", "kafka://127.0.0.1:1"]  # nothing listens: a contact would fail loudly


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["policy", "apply", "{bad}"], "policy: unknown policy name(s): lod"),
        (["policy", "apply", "{missing}"], "policy: cannot read"),
        (["replay", "--policy", "{bad}"], "replay: unknown policy name(s): lod"),
        (["replay", "--policy", "{good}", "--since", "yesterday"], "--since: not an ISO 8601"),
        (
            ["replay", "--policy", "{good}", "--since", "2027-02-02", "--until", "2027-02-01"],
            "--since is after --until",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"bad": tmp_path / "bad.toml", "good": tmp_path / "good.toml"}
    files["bad"].write_text("lod = 3.0\n")
    files["good"].write_text("load = 3.0\n")
    paths = {**{k: str(v) for k, v in files.items()}, "missing": str(tmp_path / "nope.toml")}
    assert main([a.format(**paths) for a in args] + NO_BROKER) == 2
    err = capsys.readouterr().err
    assert err.startswith("oppbus: error: ") and message in err and err.count("\n") == 1
