"""How an opportunity's routing state is kept in its Faust table, and found again by the timer.

One table row per opportunity (key: the opportunity key, so the row is co-partitioned with every
event about it). The value is ``<due>|<json>``: ``due`` is when the row next needs the timer, in
epoch milliseconds, or ``-`` when never, so the deadline index is rebuilt from the rows without
parsing any JSON. Two kinds of rows:

* open: ``due`` is the earliest response deadline of its open offers (of a waiting one: when
  the router looks for a partner again); the JSON object holds the
  offer state and the original opportunity bytes (embedded as they arrived: one ``orjson`` call,
  no re-encoding of the opportunity);
* closed marker (``streams/offers/closed.py``): ``due`` is the end of its retention, when the timer
  deletes it; the JSON array holds only what answering a late input needs (about 100 bytes).

``Pending`` holds the rows a batch changes (decoded once per batch) and the rows it deletes; the
agent writes them (or their tombstones) at the end of the batch.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from streams.offers.closed import decode_marker, encode_marker
from streams.offers.lifecycle import OpportunityState

__all__ = ["Pending", "Row", "decode_row", "due_of", "encode_row"]

_NOTHING_DUE = b"-"


@dataclass(frozen=True)
class Row:
    state: OpportunityState
    opportunity: bytes  # the original event data (JSON object); b"" in a closed marker
    purge_at: float | None = None  # a closed marker: when its retention ends (epoch seconds)

    @property
    def closed(self) -> bool:
        """A closed marker: compact state, no opportunity (``streams/offers/closed.py``)."""
        return self.purge_at is not None

    def encode(self) -> bytes:
        return encode_row(self)


def _next_due(state: OpportunityState) -> float | None:
    dues = [r.expires_at for r in state.referrals if r.due(float("inf"))]
    if state.phase == "waiting" and state.check_at > 0:
        dues.append(state.check_at)  # look for a partner again then
    return min(dues) if dues else None


def encode_row(row: Row) -> bytes:
    if row.purge_at is not None:
        return str(int(row.purge_at * 1000)).encode() + b"|" + encode_marker(row.state)
    due = _next_due(row.state)
    head = _NOTHING_DUE if due is None else str(int(due * 1000)).encode()
    body = orjson.dumps(
        {"state": row.state.to_dict(), "opportunity": orjson.Fragment(row.opportunity)}
    )
    return head + b"|" + body


def decode_row(value: bytes, key: bytes = b"") -> Row:
    """The row stored under ``key`` (a closed marker needs its key: it holds no ids of its own)."""
    head, _, body = value.partition(b"|")
    if body[:1] == b"[":
        return Row(decode_marker(key.decode(), body), b"", int(head) / 1000.0)
    data: dict[str, Any] = orjson.loads(body)
    return Row(
        state=OpportunityState.from_dict(data["state"]),
        opportunity=orjson.dumps(data["opportunity"]),
    )


def due_of(value: bytes) -> float | None:
    """The earliest open deadline of a stored row (seconds), without parsing the JSON."""
    head = value[: value.find(b"|")]
    if head == _NOTHING_DUE or not head:
        return None
    return int(head) / 1000.0


class Pending:
    """Rows changed by the current batch, read before the table and written to it at the end."""

    def __init__(self, table: MutableMapping[Any, Any]) -> None:
        self.table = table
        self.rows: dict[bytes, Row | None] = {}  # None: deleted by this batch

    def get(self, key: bytes) -> Row | None:
        if key in self.rows:
            return self.rows[key]
        value = self.table.get(key)
        return None if value is None else decode_row(bytes(value), key)

    def put(self, key: bytes, row: Row) -> None:
        self.rows[key] = row

    def delete(self, key: bytes) -> None:
        self.rows[key] = None

    def drain(self) -> list[tuple[bytes, bytes | None]]:
        """The batch's changed rows, encoded (None: deleted), in the order first changed."""
        out = [(key, None if row is None else row.encode()) for key, row in self.rows.items()]
        self.rows.clear()
        return out
