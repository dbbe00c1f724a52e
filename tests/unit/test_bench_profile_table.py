"""The profile table of docs/performance.md: py-spy stacks grouped into the pipeline's steps."""

from __future__ import annotations

from ops.bench.profile_table import OTHER, main, step_of, table

RANK = "route (streams/router/agent.py:200);RouterAgent.process (streams/router/agent.py:110);" \
    "RouterAgent._handle (streams/router/agent.py:170);make_ranker.<locals>.rank (streams/x.py:3)"  # fmt: skip
MAC = "RouterAgent.process (a.py:1);RouterAgent._handle (a.py:2);RecordAuth.check (r.py:3)"
IDLE = "run (uvloop/__init__.py:1);EpollSelector.select (selectors.py:468)"


def test_the_first_matching_step_takes_the_sample() -> None:
    assert step_of(RANK) == "router: rank"
    assert step_of(MAC) == "router: MAC check"
    assert step_of("RouterAgent.process (a.py:1);something (b.py:2)") == (
        "router: rest of the batch loop"
    )
    assert step_of("nothing we know (x.py:1)") == OTHER


def test_busy_samples_are_scaled_to_the_measured_cpu_and_idle_ones_left_out() -> None:
    rows = {name: (us, share) for name, us, share in table(
        [f"{RANK} 30", f"{MAC} 10", f"{IDLE} 500", "garbage"], 400.0
    )}  # fmt: skip
    assert rows["router: rank"] == (300.0, 0.75)
    assert rows["router: MAC check"] == (100.0, 0.25)
    assert sum(us for us, _ in rows.values()) == 400.0


def test_the_command_prints_a_markdown_table(tmp_path, capsys) -> None:
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(f"{RANK} 3\n{MAC} 1\n")
    assert main([str(stacks), "200"]) == 0
    out = capsys.readouterr().out
    assert "| router: rank | 150 | 75.0 % |" in out
    assert main([]) == 2
