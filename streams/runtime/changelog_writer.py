"""Write a Faust table's changes ourselves: into its store, and onto its changelog as bytes.

Faust's ``table[key] = value`` (``Table.on_key_set`` -> ``send_changelog`` ->
``Topic.send_soon``) queues each change in the producer buffer, drained one message at a time:
"producer buffer full" warnings, and it capped the router near 400 opportunities/s and the
scorecards below 1k events/s. Without ``use_partitioner`` it also writes to the partition of the
*current* event, which in a ``take_events`` batch is the batch's last event, not necessarily the
one that changed the row (``tests/regression/upstream/test_faust_table_writes.py``).

``ChangelogWriter`` stores the value in the table's store (``table.data``) and hands the record
straight to ``app.producer.send`` with the partition the caller names (``None``: the producer's
key partitioner, as ``use_partitioner=True`` does). ``put``/``delete`` return the delivery future,
so a caller can wait until its rows are on the changelog before it publishes what depends on
them. The table stays a Faust table: recovery, standbys and ``on_recover`` are Faust's.
``json_table`` declares a table whose values go through one orjson call and the caller's JSON
forms (also the changelog's serializer, used when a worker recovers the table).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
import orjson
from faust.serializers import codecs

__all__ = ["ChangelogWriter", "JsonValues", "Send", "json_table"]

# ``app.producer.send``: (topic, key, value, partition, timestamp, headers) -> delivery future
Send = Callable[..., Awaitable[Any]]


class JsonValues(codecs.Codec):
    """Table values <-> one orjson call, through the caller's own JSON forms."""

    def __init__(self, to_json: Callable[[Any], Any], from_json: Callable[[Any], Any]) -> None:
        super().__init__()
        self._to_json = to_json
        self._from_json = from_json

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(self._to_json(obj))

    def _loads(self, s: bytes) -> Any:
        return self._from_json(orjson.loads(s))


class ChangelogWriter:
    """The one writer of a Faust table (see the module doc); ``encode``: value -> bytes (None:
    the values are bytes already)."""

    def __init__(self, table: Any, encode: Callable[[Any], bytes] | None = None) -> None:
        self.table = table
        self._encode = encode

    def get(self, key: bytes) -> Any:
        return self.table.data.get(key)

    def _changelog(self) -> str:
        name: str = self.table.changelog_topic.get_topic_name()
        return name

    async def put(self, send: Send, key: bytes, value: Any, partition: int | None = None) -> Any:
        """Store ``value`` and send it to the changelog; returns the delivery future."""
        self.table.data[key] = value
        data = value if self._encode is None else self._encode(value)
        return await send(self._changelog(), key, data, partition, None, None)

    async def delete(self, send: Send, key: bytes, partition: int | None = None) -> Any:
        """Drop ``key`` from the store and send its tombstone; returns the delivery future."""
        self.table.data.pop(key, None)
        return await send(self._changelog(), key, None, partition, None, None)


def json_table(
    app: faust.App,
    name: str,
    *,
    partitions: int,
    to_json: Callable[[Any], Any],
    from_json: Callable[[Any], Any],
) -> ChangelogWriter:
    """Declare table ``name`` (bytes keys, values through ``JsonValues``) and its writer."""
    codec = JsonValues(to_json, from_json)
    table_class: Any = app.conf.Table
    table = table_class(
        app, name=name, beacon=app.tables.beacon, partitions=partitions, key_type=bytes
    )
    # set before the table is added to the app, which creates the changelog topic from it
    table.value_serializer = codec
    app.tables.add(table)
    return ChangelogWriter(table, codec._dumps)
