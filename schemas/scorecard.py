"""Per-partner scorecard: the value of the compacted ``partner-stats`` topic (key: partner id).

Published by the scorecards context each time a partner's figures change; read completely by the
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
  it, and how many of each were accepted (``given_accepted``, ``received_accepted``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import orjson
from pydantic import ConfigDict, Field, PlainSerializer

from schemas.common import Contract, Currency, PartnerId, UtcDatetime

__all__ = [
    "PairReciprocity",
    "PartnerScorecard",
    "decode_scorecard",
    "encode_scorecard",
]


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


# A non-negative sum of amounts; always a JSON string on the wire.
Revenue = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    PlainSerializer(_decimal_text, return_type=str),
]
Count = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class PairReciprocity(Contract):
    """Referrals between this partner and ``partner_id``, both ways."""

    partner_id: PartnerId
    given: Count = Field(description="referrals this partner gave to partner_id")
    received: Count = Field(description="referrals this partner received from partner_id")
    given_accepted: Count = Field(description="of those given, how many partner_id accepted")
    received_accepted: Count = Field(description="of those received, how many this one accepted")


class PartnerScorecard(Contract):
    """The figures of one partner, folded from the referral ledger."""

    schema_version: Literal[1] = Field(default=1, alias="schema")
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
    mean_seconds_to_accept: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    median_seconds_to_accept: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    revenue_won: dict[Currency, Revenue]
    revenue_from_given: dict[Currency, Revenue]
    reciprocity: tuple[PairReciprocity, ...]

    model_config = ConfigDict(populate_by_name=True)


def encode_scorecard(card: PartnerScorecard) -> bytes:
    """The ``partner-stats`` value of a scorecard (one orjson call)."""
    return orjson.dumps(card.model_dump(mode="json", by_alias=True))


def decode_scorecard(value: bytes) -> PartnerScorecard:
    """Parse and validate a ``partner-stats`` value; raises pydantic's ValidationError."""
    return PartnerScorecard.model_validate_json(value)
