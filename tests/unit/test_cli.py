from __future__ import annotations

import pytest

from ops.cli import build_parser, main


@pytest.mark.parametrize("command", [[], ["up"], ["worker"], ["api"], ["bench"]])
def test_every_command_explains_itself(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: oppbus" in out
    assert "OPPBUS_" in out or command == ["bench"]


def test_invalid_setting_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["worker", "--broker", "localhost:9092"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "oppbus: error: invalid setting broker: Value error, must look like kafka://host:port"
    ]
