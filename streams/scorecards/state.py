"""Plain-JSON forms of the fold's state: table values (changelog) and the published snapshot.

Table values are compact positional lists (they are written once per change and read back only
when a worker recovers its tables); the snapshot is the :class:`schemas.scorecard.PartnerScorecard`
contract, built as a plain dict so a whole batch of snapshots costs one ``orjson.dumps`` each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import orjson

from schemas.codec import CONTENT_TYPE, SPECVERSION
from schemas.events import type_of
from schemas.ids import event_id
from schemas.scorecard import PartnerScorecard
from streams.scorecards.fold import PartnerAggregate, RefState, Role, Status
from streams.scorecards.timing import AcceptTimes

__all__ = [
    "SNAPSHOT_SOURCE",
    "aggregate_from_json",
    "aggregate_to_json",
    "ref_from_json",
    "ref_to_json",
    "snapshot",
    "snapshot_record",
]

SNAPSHOT_SOURCE = "urn:oppbus:scorecards"
_SNAPSHOT_TYPE = type_of(PartnerScorecard).encode()

_COUNTERS = (
    "given", "given_accepted", "given_won", "received", "accepted", "declined", "expired",
    "won", "lost", "withdrawn", "open_offers", "active",
)  # fmt: skip


def ref_to_json(ref: RefState) -> list[Any]:
    return [
        ref.role,
        ref.counterpart,
        ref.status,
        [list(s) for s in ref.steps],
        ref.offered_at,
        ref.accepted_at,
        ref.amount,
        ref.currency,
    ]


def ref_from_json(data: list[Any]) -> RefState:
    role, counterpart, status, steps, offered_at, accepted_at, amount, currency = data
    return RefState(
        role=cast(Role, role),
        counterpart=counterpart,
        status=cast(Status, status),
        steps=tuple((int(seq), cast(Status, st)) for seq, st in steps),
        offered_at=offered_at,
        accepted_at=accepted_at,
        amount=amount,
        currency=currency,
    )


def _money_json(book: dict[str, Decimal]) -> dict[str, str]:
    return {cur: format(amount, "f") for cur, amount in sorted(book.items())}


def aggregate_to_json(agg: PartnerAggregate) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(agg, name) for name in _COUNTERS}
    data.update(
        partner_id=agg.partner_id,
        seq=agg.seq,
        revision=agg.revision,
        updated_at=agg.updated_at,
        accept_times=agg.accept_times.to_json(),
        revenue_won=_money_json(agg.revenue_won),
        revenue_from_given=_money_json(agg.revenue_from_given),
        pairs={other: list(counts) for other, counts in sorted(agg.pairs.items())},
    )
    return data


def aggregate_from_json(data: dict[str, Any]) -> PartnerAggregate:
    return PartnerAggregate(
        partner_id=data["partner_id"],
        seq=int(data["seq"]),
        revision=int(data["revision"]),
        updated_at=data["updated_at"],
        accept_times=AcceptTimes.from_json(data["accept_times"]),
        revenue_won={c: Decimal(a) for c, a in data["revenue_won"].items()},
        revenue_from_given={c: Decimal(a) for c, a in data["revenue_from_given"].items()},
        pairs={
            o: (int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]) if len(c) > 4 else 0)
            for o, c in data["pairs"].items()
        },
        **{name: int(data[name]) for name in _COUNTERS},
    )


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _pair(other: str, counts: tuple[int, int, int, int, int]) -> dict[str, Any]:
    given, received, given_accepted, received_accepted, teamed = counts
    pair = {
        "partner_id": other,
        "given": given,
        "received": received,
        "given_accepted": given_accepted,
        "received_accepted": received_accepted,
    }
    if teamed:  # only once a team was assembled (the field defaults to 0)
        pair["teamed"] = teamed
    return pair


def snapshot(agg: PartnerAggregate) -> dict[str, Any]:
    """The published scorecard of one partner (``partner-stats`` value), JSON-ready."""
    data: dict[str, Any] = {
        "partner_id": agg.partner_id,
        "revision": agg.revision,
        "updated_at": _iso(agg.updated_at),
    }
    data.update((name, getattr(agg, name)) for name in _COUNTERS)
    times = agg.accept_times
    data.update(
        acceptance_rate=_rounded(agg.acceptance_rate, 6),
        win_rate=_rounded(agg.win_rate, 6),
        accepted_timed=times.count,
        mean_seconds_to_accept=_rounded(times.mean, 3),
        median_seconds_to_accept=_rounded(times.median, 3),
        revenue_won=_money_json(agg.revenue_won),
        revenue_from_given=_money_json(agg.revenue_from_given),
        reciprocity=[_pair(other, counts) for other, counts in sorted(agg.pairs.items())],
    )
    return data


def snapshot_record(agg: PartnerAggregate) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The ``partner-stats`` record of a partner: one orjson call for the value and the CloudEvents
    headers of :mod:`schemas.codec` (the same headers ``encode`` writes). The id is derived from the
    partner and revision, so a snapshot re-published after a crash is recognisably the same."""
    data = snapshot(agg)
    headers = [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", event_id("partner.stats", agg.partner_id, str(agg.revision)).encode()),
        ("ce_source", SNAPSHOT_SOURCE.encode()),
        ("ce_type", _SNAPSHOT_TYPE),
        ("ce_time", (data["updated_at"] or "1970-01-01T00:00:00Z").encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    return orjson.dumps(data), headers
