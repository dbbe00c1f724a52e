"""How an opportunity's routing state is kept in its Faust table, and found again by the timer.

One table row per opportunity (key: the opportunity key, so the row is co-partitioned with every
event about it). The value is ``<due>|<json>``: ``due`` is the earliest response deadline of its
open offers in epoch milliseconds, or ``-`` when nothing is pending, so the deadline index is
rebuilt from the rows without parsing any JSON. The JSON holds the offer state and the original opportunity
bytes (embedded as they arrived: one ``orjson`` call, no re-encoding of the opportunity).

``Pending`` holds the rows a batch changes (decoded once per batch); the agent writes them at the
end of the batch.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from streams.offers.lifecycle import OpportunityState

__all__ = ["Pending", "Row", "decode_row", "due_of", "encode_row"]

_NOTHING_DUE = b"-"


@dataclass(frozen=True)
class Row:
    state: OpportunityState
    opportunity: bytes  # the original event data (JSON object) of the opportunity

    def encode(self) -> bytes:
        return encode_row(self)


def _next_due(state: OpportunityState) -> float | None:
    dues = [r.expires_at for r in state.referrals if r.due(float("inf"))]
    return min(dues) if dues else None


def encode_row(row: Row) -> bytes:
    due = _next_due(row.state)
    head = _NOTHING_DUE if due is None else str(int(due * 1000)).encode()
    body = orjson.dumps(
        {"state": row.state.to_dict(), "opportunity": orjson.Fragment(row.opportunity)}
    )
    return head + b"|" + body


def decode_row(value: bytes) -> Row:
    _, _, body = value.partition(b"|")
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
        self.rows: dict[bytes, Row] = {}

    def get(self, key: bytes) -> Row | None:
        row = self.rows.get(key)
        if row is not None:
            return row
        value = self.table.get(key)
        return None if value is None else decode_row(bytes(value))

    def put(self, key: bytes, row: Row) -> None:
        self.rows[key] = row

    def drain(self) -> list[tuple[bytes, bytes]]:
        """The batch's changed rows, encoded, in the order they were first changed."""
        out = [(key, row.encode()) for key, row in self.rows.items()]
        self.rows.clear()
        return out
