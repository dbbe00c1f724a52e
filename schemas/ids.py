"""Stable identifiers every bounded context derives the same way, so processing is idempotent.

* ``opportunity_key(originator, opportunity_id)`` -> ``"originator/opportunity_id"``: opportunity ids
  are unique per originator only, so this is the global identity of an opportunity and the Kafka key
  of every event about it (one partition, one worker).
* ``referral_id(originator, opportunity_id, partner_id)``: one referral per (opportunity, partner);
  ``"ref_"`` + 20 hex digits of a SHA-256, the same in every process and after every restart.
* ``event_id(*parts)``: a deterministic CloudEvents ``id`` for events derived from others, so a
  re-processed input produces the very same event (consumers dedupe on it).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "REFERRAL_ID_PATTERN",
    "event_id",
    "opportunity_key",
    "referral_id",
    "split_opportunity_key",
]

REFERRAL_ID_PATTERN = r"^ref_[0-9a-f]{20}$"
_SEP = "/"


def _check_part(name: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    if _SEP in value:
        raise ValueError(f"{name} cannot contain {_SEP!r}: {value!r}")


def opportunity_key(originator: str, opportunity_id: str) -> str:
    """``"originator/opportunity_id"``: the global id of an opportunity and its topic key."""
    _check_part("originator", originator)
    _check_part("opportunity_id", opportunity_id)
    return f"{originator}{_SEP}{opportunity_id}"


def split_opportunity_key(key: str) -> tuple[str, str]:
    """The inverse of :func:`opportunity_key`: ``(originator, opportunity_id)``."""
    originator, sep, opportunity_id = key.partition(_SEP)
    if not sep or not originator or not opportunity_id or _SEP in opportunity_id:
        raise ValueError(f"not an opportunity key: {key!r}")
    return originator, opportunity_id


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def referral_id(originator: str, opportunity_id: str, partner_id: str) -> str:
    """The referral of one opportunity to one partner: ``ref_`` + 20 hex digits, stable."""
    _check_part("partner_id", partner_id)
    return "ref_" + _digest(opportunity_key(originator, opportunity_id), partner_id)[:20]


def event_id(*parts: str) -> str:
    """A deterministic event id (32 hex digits) from the parts that make an event unique."""
    if not parts:
        raise ValueError("event_id needs at least one part")
    return _digest(*parts)[:32]
