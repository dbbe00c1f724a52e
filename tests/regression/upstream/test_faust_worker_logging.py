"""faust-streaming: with a log level of WARNING or above, the worker's start-up (its terminal
spinner, ``Worker._setup_spinner_handler``) sets the root logger to DEBUG, so every ``log.debug``
of faust and aiokafka builds a record.

Worked around by ``streams.runtime.startup.quiet_root_logger`` (row "root log level" in
``streams/runtime/README.md``).
"""

from __future__ import annotations

import io
import logging

import faust


async def test_worker_start_up_leaves_the_root_logger_at_debug(stock_app: faust.App) -> None:
    worker = faust.Worker(stock_app, loglevel="WARNING", stdout=io.StringIO(), stderr=io.StringIO())
    root = logging.Logger("stand-in-for-root")  # the worker's signal gets the root logger
    root.addHandler(logging.StreamHandler(io.StringIO()))
    root.setLevel(logging.WARNING)
    worker.on_setup_root_logger(root, logging.WARNING)
    assert root.level == logging.DEBUG, "Faust keeps the level: quiet_root_logger can go"
