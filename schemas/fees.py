"""One append to the fee ledger (the ``fees`` topic; ``streams/fees/ledger.py`` makes them).

The topic is compacted and keyed by ``event_id``: every event has an identity derived from what
caused it (``<fee_id>.accrued|approved|settled|reversed``), so a redelivered or replayed append
lands under the same key and counts once; nothing is ever edited or deleted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.common import Contract, Currency, OpportunityId, PartnerId, UtcDatetime
from schemas.terms import FeeAmount

__all__ = ["FEE_ID_PATTERN", "FeeEventKind", "FeeId", "FeeRecorded"]

FEE_ID_PATTERN = r"^fee_[0-9a-f]{20}$"
FeeId = Annotated[str, StringConstraints(pattern=FEE_ID_PATTERN)]
FeeEventKind = Literal["accrued", "approved", "settled", "reversed"]
_ReferralId = Annotated[str, StringConstraints(pattern=r"^ref_[0-9a-f]{20}$")]


class FeeRecorded(Contract):
    """A fee accrued, approved, settled or reversed (key: ``event_id``)."""

    event_id: Annotated[
        str, StringConstraints(pattern=r"^fee_[0-9a-f]{20}\.(accrued|approved|settled|reversed)$")
    ]
    fee_id: FeeId
    kind: FeeEventKind
    at: UtcDatetime = Field(description="Event time: the outcome's, the window's end, ...")
    referral_id: _ReferralId
    opportunity_id: OpportunityId
    originator: PartnerId
    payer: PartnerId = Field(description="The partner who received the referral.")
    payee: PartnerId = Field(description="The partner who shared it.")
    amount: FeeAmount
    currency: Currency
    terms_version: int = Field(ge=1, strict=True)
    approve_at: UtcDatetime = Field(description="When the approval window ends.")
    basis: str = Field(default="", max_length=300, description="How the amount was reached.")
    reference: str | None = Field(
        default=None, min_length=1, max_length=200, description="The payment reference (settled)."
    )
    reason: str | None = Field(default=None, max_length=200)
