"""Per-partner scorecard: the ``partner-stats`` topic's event (key: partner id, compacted).

CloudEvents type ``io.oppbus.partner.stats.v1`` (registered in :mod:`schemas.events`, so
:func:`schemas.codec.decode` reads it like every other bus event). Published by the scorecards context each time a partner's figures change; read completely by the
routing workers (load, capacity, acceptance and win rates, response time) and by the HTTP API for
``GET /v1/partners/{partner_id}/scorecard``. A later snapshot of a partner replaces the earlier one:
``revision`` only grows, so a reader keeps the snapshot with the highest revision.

Definitions (receiver side: offers this partner received; giver side: referrals of its own
opportunities to other partners):

* ``open_offers``: offered and not answered yet (what capacity counts); ``active``: accepted, not
  closed (won, lost or withdrawn) yet.
* ``acceptance_rate`` = accepted / (accepted + declined + expired); ``win_rate`` = won / (won + lost);
  ``null`` while the denominator is zero.
* ``mean_seconds_to_accept`` is exact; ``median_seconds_to_accept`` is exact up to 64 timed
  acceptances, then within about 2.2 %. ``accepted_timed`` counts the acceptances whose offer time
  was known.
* ``revenue_won``: won amounts per currency (decimal strings, never converted);
  ``revenue_from_given``: what partners won on the referrals this partner gave.
* ``reciprocity``: per other partner, referrals this partner ``given`` to it and ``received`` from
  it, and how many of each were accepted (``given_accepted``, ``received_accepted``); ``teamed``:
  the teams both were assembled in (member-member reciprocity; a team's originator and each member
  count as giver and receiver of that member's role).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from schemas.common import Contract, Currency, DecimalString, PartnerId, UtcDatetime

__all__ = ["COUNTERS", "PairReciprocity", "PartnerScorecard", "empty_scorecard"]

# The count fields of a scorecard besides ``revision`` (all start at zero).
COUNTERS: tuple[str, ...] = (
    "given", "given_accepted", "given_won", "received", "accepted", "declined", "expired", "won",
    "lost", "withdrawn", "open_offers", "active", "accepted_timed",
)  # fmt: skip


Count = Annotated[int, Field(strict=True, ge=0)]
Rate = Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)]
Seconds = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


class PairReciprocity(Contract):
    """Referrals between this partner and ``partner_id``, both ways."""

    partner_id: PartnerId
    given: Count = Field(description="referrals this partner gave to partner_id")
    received: Count = Field(description="referrals this partner received from partner_id")
    given_accepted: Count = Field(description="of those given, how many partner_id accepted")
    received_accepted: Count = Field(description="of those received, how many this one accepted")
    teamed: Count = Field(
        default=0, description="teams this partner and partner_id were assembled in together"
    )


class PartnerScorecard(Contract):
    """The figures of one partner, folded from the referral ledger."""

    partner_id: PartnerId
    revision: Count = Field(description="number of ledger steps folded in; only grows")
    updated_at: UtcDatetime | None = Field(description="time of the latest ledger event folded in")
    given: Count
    given_accepted: Count
    given_won: Count
    received: Count
    accepted: Count
    declined: Count
    expired: Count
    won: Count
    lost: Count
    withdrawn: Count
    open_offers: Count
    active: Count
    acceptance_rate: Rate | None
    win_rate: Rate | None
    accepted_timed: Count
    mean_seconds_to_accept: Seconds | None
    median_seconds_to_accept: Seconds | None
    revenue_won: dict[Currency, DecimalString]
    revenue_from_given: dict[Currency, DecimalString]
    reciprocity: tuple[PairReciprocity, ...]


def empty_scorecard(partner_id: str) -> PartnerScorecard:
    """The scorecard of a partner no referral has touched yet."""
    return PartnerScorecard(
        partner_id=partner_id,
        updated_at=None,
        acceptance_rate=None,
        win_rate=None,
        mean_seconds_to_accept=None,
        median_seconds_to_accept=None,
        revenue_won={},
        revenue_from_given={},
        reciprocity=(),
        revision=0,
        **dict.fromkeys(COUNTERS, 0),
    )
