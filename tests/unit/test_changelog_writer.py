"""ChangelogWriter: the store and the changelog record change together (no broker: a stand-in)."""

from __future__ import annotations

from typing import Any

from streams.runtime.changelog_writer import ChangelogWriter, JsonValues


class _Topic:
    def get_topic_name(self) -> str:
        return "app-rows-changelog"


class _Table:
    def __init__(self) -> None:
        self.data: dict[bytes, Any] = {}
        self.changelog_topic = _Topic()


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    async def send(self, *record: Any) -> str:
        self.sent.append(record)
        return f"future-{len(self.sent)}"


async def test_put_stores_the_value_and_sends_its_bytes_to_the_named_partition() -> None:
    table, producer = _Table(), _Producer()
    codec = JsonValues(lambda v: {"n": v}, lambda j: j["n"])
    rows = ChangelogWriter(table, codec.dumps)
    assert await rows.put(producer.send, b"k", 7, partition=1) == "future-1"
    assert rows.get(b"k") == 7 and table.data == {b"k": 7}
    assert producer.sent == [("app-rows-changelog", b"k", b'{"n":7}', 1, None, None)]
    assert codec.loads(producer.sent[0][2]) == 7


async def test_bytes_values_go_as_they_are_and_delete_sends_a_tombstone() -> None:
    table, producer = _Table(), _Producer()
    rows = ChangelogWriter(table)
    await rows.put(producer.send, b"k", b"row")
    await rows.delete(producer.send, b"k")
    await rows.delete(producer.send, b"never-there")
    assert table.data == {}
    assert [(key, value, partition) for _, key, value, partition, _, _ in producer.sent] == [
        (b"k", b"row", None),  # None: the producer's key partitioner
        (b"k", None, None),
        (b"never-there", None, None),
    ]
