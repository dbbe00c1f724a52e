"""The referral ledger: the lifecycle state machine of one referral (pure) and its transitions."""

from streams.ledger.machine import (
    CLOSED,
    OPEN,
    Applied,
    Command,
    Referral,
    Rejected,
    Status,
    Unchanged,
    apply,
)

__all__ = [
    "CLOSED",
    "OPEN",
    "Applied",
    "Command",
    "Referral",
    "Rejected",
    "Status",
    "Unchanged",
    "apply",
]
