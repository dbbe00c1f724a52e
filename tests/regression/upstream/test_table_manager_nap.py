"""Faust 0.15.3's TableManager naps 1 s before registering tables (streams.runtime.table_manager).

Fails the day upstream drops the nap: then ``PromptTableManager`` can go.
"""

from __future__ import annotations

import inspect

from faust.tables.manager import TableManager


def test_upstream_table_manager_sleeps_a_second_before_registering_tables() -> None:
    source = inspect.getsource(TableManager.on_start)
    assert "await self.sleep(1.0)" in source
