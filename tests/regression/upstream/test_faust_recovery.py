"""faust-streaming: a worker's table recovery resumes the flow while it is already running.

``Recovery`` resumes the flow to read the changelogs, then again in ``on_recovery_completed``
after it has sought the stream partitions to their committed offsets: with mode's
``FlowControlEvent`` (``test_mode_flow_control.py``) the second resume clears the stream queues.
Worked around by ``streams.runtime.flow_control.FlowControl`` (row "flow control" in
``streams/runtime/README.md``). A stock ``faust.App`` on the embedded broker.
"""

from __future__ import annotations

from pathlib import Path

import faust
import pytest

from streams.settings import Settings
from tests.integration.polling import until

pytestmark = pytest.mark.kafka


async def test_recovery_resumes_a_flow_that_is_already_active(
    settings: Settings, tmp_path: Path
) -> None:
    app = faust.App(
        f"{settings.app_id}-stock",
        broker=settings.broker_url,
        store="memory://",
        autodiscover=False,
        topic_partitions=1,
        broker_session_timeout=settings.session_timeout_s,
        datadir=str(tmp_path),
    )
    app.Table("rows", partitions=1, key_type=bytes, value_type=bytes)

    @app.agent(app.topic(settings.topic("recovery-in"), partitions=1))
    async def read(stream):  # type: ignore[no-untyped-def]
        async for _ in stream:
            pass

    resumes: list[bool] = []  # was the flow active when resumed?
    flow = app.flow_control
    stock_resume = flow.resume

    def resume() -> None:
        resumes.append(flow.is_active())
        stock_resume()

    flow.resume = resume  # type: ignore[method-assign]
    await app.start()
    try:
        assert await until(lambda: app.tables.recovery.completed.is_set(), 60)
    finally:
        await app.stop()
    assert True in resumes, f"no resume of a running flow any more: {resumes}"
