"""faust-streaming: an app's data directory defaults to ``<app id>-data`` in the current directory,
where every worker start makes ``v1/tables`` (even with memory tables).

Worked around by ``streams.runtime.app._datadir`` (row "data directory" in
``streams/runtime/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import faust


async def test_the_default_data_directory_is_relative_to_the_working_directory(
    stock_app: faust.App,
) -> None:
    datadir = Path(stock_app.conf.datadir)
    assert not datadir.is_absolute() and datadir.name == "upstream-regression-data"
