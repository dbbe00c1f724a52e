"""Partnerships between two partners and the network default terms (the ``partnerships`` topic).

The topic is compacted and keyed by ``partnership_id``, so every event carries the partnership's
whole state (the last record of a key is all a reader needs); ``revision`` increases with every
change and a reader keeps the highest. The network default terms travel on the same topic under
the key :data:`NETWORK_TERMS_KEY` (a partnership id can never take that value).

Life of a partnership: ``proposed`` (by ``proposer``, with terms version 1) -> ``active`` when the
other side accepts -> ``ended`` by either side. While active, either side may propose new terms
(``pending_terms``, the next version); they come into force when ``awaiting`` (the other side)
accepts them with the same accept action. Only ``terms`` of an ``active`` partnership are in force.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.common import Contract, PartnerId, UtcDatetime
from schemas.terms import Terms

__all__ = [
    "NETWORK_TERMS_KEY",
    "PARTNERSHIP_ID_PATTERN",
    "NetworkTerms",
    "Partnership",
    "PartnershipId",
    "PartnershipStatus",
]

PARTNERSHIP_ID_PATTERN = r"^ps_[0-9a-f]{20}$"
NETWORK_TERMS_KEY = "network-default"

PartnershipId = Annotated[str, StringConstraints(pattern=PARTNERSHIP_ID_PATTERN)]
PartnershipStatus = Literal["proposed", "active", "ended"]


class Partnership(Contract):
    """A partnership as it stands after its latest change (key: ``partnership_id``)."""

    partnership_id: PartnershipId
    proposer: PartnerId = Field(description="The partner who proposed the partnership.")
    partner: PartnerId = Field(description="The other side, who accepts or not.")
    status: PartnershipStatus
    terms: Terms = Field(
        description="The terms in force while active (while proposed: the terms proposed)."
    )
    pending_terms: Terms | None = Field(
        default=None, description="A newer version proposed by one side, not yet accepted."
    )
    awaiting: PartnerId | None = Field(
        default=None, description="The side whose acceptance is awaited (none when nothing is)."
    )
    revision: int = Field(ge=1, strict=True, description="Increases with every change.")
    updated_at: UtcDatetime
    activated_at: UtcDatetime | None = None
    ended_by: PartnerId | None = None


class NetworkTerms(Contract):
    """The operator's default terms for referrals between partners without a partnership."""

    terms: Terms
    revision: int = Field(ge=1, strict=True)
    updated_at: UtcDatetime
