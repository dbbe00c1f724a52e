"""faust-streaming: ``table[key] = value`` queues the changelog record in the producer buffer
(``Topic.send_soon``, drained one message at a time) and, without ``use_partitioner``, writes it
to the partition of the *current* event: in a ``take_events`` batch, the batch's last event.

Worked around by ``streams.runtime.changelog_writer.ChangelogWriter`` (row "changelog writer" in
``streams/runtime/README.md``), used by the router and the scorecards.
"""

from __future__ import annotations

import weakref
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import TP, Message

from tests.regression.upstream.conftest import IN


class _Event:
    def __init__(self, partition: int) -> None:
        self.message = Message(IN, partition, 0, 0.0, None, {}, b"k", b"v", None)


async def test_a_table_write_goes_to_the_buffer_and_to_the_current_events_partition(
    stock_app: faust.App,
) -> None:
    table: Any = stock_app.Table("rows", partitions=2, key_type=bytes, value_type=bytes)
    table._verify_source_topic_partitions = lambda topic: None  # no changelog topic created
    sent: list[dict[str, Any]] = []

    def send_soon(**kw: Any) -> Any:
        sent.append(kw)
        return type("Fut", (), {"message": type("M", (), {"partition": kw["partition"]})})()

    table.changelog_topic.send_soon = send_soon
    # A batch of two events: the first from partition 0, the last (current) from partition 1.
    current = _Event(1)
    token = _current_event.set(weakref.ref(current))  # type: ignore[arg-type]
    try:
        table[b"row-of-the-first-event"] = b"v"
    finally:
        _current_event.reset(token)
    assert [kw["partition"] for kw in sent] == [1], "the write no longer follows the current event"
    assert TP(IN, 1) in {TP(IN, kw["partition"]) for kw in sent}
