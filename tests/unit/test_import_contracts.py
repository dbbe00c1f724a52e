"""The boundaries hold by themselves: the import contracts of ``.importlinter`` (layers import
one way: schemas <- streams <- connectors <- ops; the pure core imports no faust, mode, aiokafka,
asyncio or time; the runtime imports none of the agents) and ruff's private-access lint (SLF) with
streams/runtime/ the only exemption (docs/architecture.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed (import-linter is a dev dependency)")
    return found


def test_every_import_contract_is_kept() -> None:
    done = subprocess.run(
        [_lint_imports(), str(CONFIG), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_cover_the_layers_the_pure_core_and_the_runtime() -> None:
    text = CONFIG.read_text()
    for contract in ("layers", "pure-core", "runtime-below-agents"):
        assert f"[importlinter:contract:{contract}]" in text


def test_private_access_is_linted_everywhere_but_the_runtime() -> None:
    """ruff's SLF rule is on; outside tests, only streams/runtime/ may touch private members."""
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "SLF" in lint["select"]
    exempt = [
        path
        for path, rules in lint.get("per-file-ignores", {}).items()
        if any(rule.startswith("SLF") for rule in rules)
    ]
    assert [p for p in exempt if not p.startswith("tests/")] == ["streams/runtime/**"]
