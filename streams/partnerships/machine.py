"""The partnership state machine (pure): who may do what, and the next state.

Each action takes the current :class:`Partnership`, the acting partner and ``now``, and returns
either the next state (``revision`` + 1) or a :class:`Refusal` with the HTTP status it maps to:

* a partner that is not one of the two sides gets ``404`` (the partnership is none of its
  business, and the answer must not tell it the partnership exists);
* ``accept`` by the side that proposed (the partnership or the pending terms) is ``403``;
* an action the status does not allow is ``409``.

Accepting is one action for both things a side can be asked to accept: a proposed partnership
(-> ``active`` with the proposed terms) and, on an active one, the other side's new terms (they
replace the terms in force, version + 1). Ending is allowed to either side while not ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.partnership import Partnership
from schemas.terms import Terms

__all__ = [
    "Refusal",
    "accept",
    "between",
    "end",
    "in_force",
    "propose",
    "propose_terms",
]


@dataclass(frozen=True)
class Refusal:
    status: int  # 403, 404 or 409
    message: str


def propose(
    partnership_id: str, proposer: str, partner: str, terms: Terms, now: datetime
) -> Partnership | Refusal:
    """A new partnership ``proposer`` offers ``partner`` (terms version 1)."""
    if proposer == partner:
        return Refusal(409, "a partner cannot enter a partnership with itself")
    return Partnership(
        partnership_id=partnership_id,
        proposer=proposer,
        partner=partner,
        status="proposed",
        terms=terms.model_copy(update={"version": 1}),
        awaiting=partner,
        revision=1,
        updated_at=now,
    )


def _party(p: Partnership, by: str) -> Refusal | None:
    if by not in (p.proposer, p.partner):
        return Refusal(404, f"no partnership {p.partnership_id} of yours")
    return None


def _next(p: Partnership, now: datetime, **changes: object) -> Partnership:
    return p.model_copy(update={**changes, "revision": p.revision + 1, "updated_at": now})


def accept(p: Partnership, by: str, now: datetime) -> Partnership | Refusal:
    """The awaited side accepts the proposal or the pending terms."""
    refused = _party(p, by)
    if refused is not None:
        return refused
    if p.status == "ended":
        return Refusal(409, "the partnership has ended")
    if p.awaiting is None:
        return Refusal(409, "nothing awaits acceptance")
    if p.awaiting != by:
        return Refusal(403, "only the other side can accept what you proposed")
    if p.status == "proposed":
        return _next(p, now, status="active", awaiting=None, activated_at=now)
    assert p.pending_terms is not None
    return _next(p, now, terms=p.pending_terms, pending_terms=None, awaiting=None)


def end(p: Partnership, by: str, now: datetime) -> Partnership | Refusal:
    """Either side ends the partnership (or withdraws / declines a proposal)."""
    refused = _party(p, by)
    if refused is not None:
        return refused
    if p.status == "ended":
        return Refusal(409, "the partnership has already ended")
    return _next(p, now, status="ended", pending_terms=None, awaiting=None, ended_by=by)


def propose_terms(p: Partnership, by: str, terms: Terms, now: datetime) -> Partnership | Refusal:
    """A side proposes the next version of the terms; the other side must accept it.

    A newer proposal replaces a pending one (same next version), whoever made it.
    """
    refused = _party(p, by)
    if refused is not None:
        return refused
    if p.status != "active":
        return Refusal(
            409, f"terms can be changed on an active partnership, this one is {p.status}"
        )
    other = p.partner if by == p.proposer else p.proposer
    pending = terms.model_copy(update={"version": p.terms.version + 1})
    if p.pending_terms == pending and p.awaiting == other:
        return p  # the same proposal again: nothing changes
    return _next(p, now, pending_terms=pending, awaiting=other)


def in_force(p: Partnership | None) -> Terms | None:
    """The terms in force under ``p``: only an active partnership has any."""
    return p.terms if p is not None and p.status == "active" else None


def between(partnerships: list[Partnership], a: str, b: str) -> Partnership | None:
    """The live (proposed or active) partnership between ``a`` and ``b``, if any."""
    for p in partnerships:
        if p.status != "ended" and {p.proposer, p.partner} == {a, b}:
            return p
    return None
