"""Events about routing outcomes and failures: conflict flagged, unroutable, dead letter."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from schemas.common import Capability, Contract, OpportunityId, PartnerId, UtcDatetime
from schemas.errors import FieldError, InvalidEvent

__all__ = [
    "DEADLETTER_VALUE_BYTES",
    "EXCLUSION_RULES",
    "ConflictFlagged",
    "DeadLetter",
    "OpportunityUnroutable",
    "dead_letter",
    "payload_text",
]

# The routing rules that can exclude a candidate partner (documented codes; extensible).
EXCLUSION_RULES: dict[str, str] = {
    "originator": "the candidate is the originator itself",
    "not_complementary": "does not offer every needed capability in the region",
    "missing_certification": "lacks a valid (unexpired) required certification",
    "competing": "offers a capability the originator retains",
    "competitor": "either side lists the other as a competitor",
    "refused": "either side refuses to work with the other",
    "not_accepting": "the partner does not accept new offers",
    "at_capacity": "the partner holds its maximum of open offers",
    "outside_consent": "not in the opportunity's share_with scope",
    "already_responded": "already declined or let an offer of this opportunity expire",
    "inactive": "the partner was deactivated",
}

# How much of a failed input a dead-letter record keeps (the record must stay well below the
# codec's MAX_EVENT_BYTES and Kafka's message size even for an oversized input in base64).
DEADLETTER_VALUE_BYTES = 256 * 1024
_KEY_BYTES = 16 * 1024
_HEADER_CHARS = 1024

RuleCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class ConflictFlagged(Contract):
    """To the originator: the same customer (normalised domain) and need is already registered.

    Deliberately names no other partner and no other opportunity. Both originators are told:
    ``holds_claim`` is false for the later opportunity (it waits for the operator's decision) and
    true for the notice to the originator of the opportunity that registered the customer first.
    """

    opportunity_id: OpportunityId
    originator: PartnerId
    domain: str = Field(min_length=3, max_length=253, description="normalised customer domain")
    needs: tuple[Capability, ...] = Field(min_length=1, max_length=16, description="overlap")
    first_registered_at: UtcDatetime
    flagged_at: UtcDatetime
    holds_claim: bool = Field(
        default=False, strict=True, description="this opportunity registered the customer first"
    )


class OpportunityUnroutable(Contract):
    """No eligible partner is left: how many candidates each rule excluded."""

    opportunity_id: OpportunityId
    originator: PartnerId
    candidates: int = Field(strict=True, ge=0, description="partners considered")
    excluded: dict[RuleCode, Annotated[int, Field(strict=True, ge=0)]] = Field(
        default_factory=dict, max_length=64, description="rule code -> partners it excluded"
    )
    round: int = Field(strict=True, default=1, ge=1, le=1000)
    at: UtcDatetime


class DeadLetter(Contract):
    """An input that could not be processed, with where it came from and why.

    ``value`` is the original bytes as UTF-8 text when they decode, else base64
    (``value_encoding``); ``key`` likewise. ``headers`` keep the original headers (text or base64).
    """

    # The original bytes are kept exactly: no whitespace stripping here.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    source_topic: str = Field(min_length=1, max_length=249)
    partition: int = Field(strict=True, ge=-1, description="-1 when not from Kafka (HTTP)")
    offset: int = Field(
        strict=True, ge=-1, description="-1 when the input did not come from Kafka (HTTP)"
    )
    key: str | None = Field(default=None, max_length=1_500_000)
    key_encoding: Literal["utf-8", "base64"] = "utf-8"
    value: str = Field(max_length=1_500_000)
    value_encoding: Literal["utf-8", "base64"] = "utf-8"
    value_size: int | None = Field(
        default=None, strict=True, ge=0, description="size in bytes of the original value"
    )
    value_truncated: bool = Field(
        default=False,
        strict=True,
        description=f"only the first {DEADLETTER_VALUE_BYTES} bytes kept",
    )
    headers: tuple[tuple[str, str], ...] = Field(default=(), max_length=64)
    reason: str = Field(min_length=1, max_length=100)
    detail: str = Field(default="", max_length=2000)
    errors: tuple[FieldError, ...] = Field(default=(), max_length=1000)
    event_id: str | None = Field(default=None, max_length=200, description="ce_id when known")
    event_type: str | None = Field(default=None, max_length=200, description="ce_type when known")
    consumer: str = Field(default="", max_length=100, description="which processor gave up")
    at: UtcDatetime

    @model_validator(mode="after")
    def _base64_is_base64(self) -> DeadLetter:
        for name, text, encoding in (
            ("value", self.value, self.value_encoding),
            ("key", self.key, self.key_encoding),
        ):
            if text is not None and encoding == "base64":
                try:
                    base64.b64decode(text, validate=True)
                except ValueError:
                    raise ValueError(f"{name}: not valid base64") from None
        return self

    def original_value(self) -> bytes:
        return _raw(self.value, self.value_encoding)

    def original_key(self) -> bytes | None:
        return None if self.key is None else _raw(self.key, self.key_encoding)


def _raw(text: str, encoding: str) -> bytes:
    return base64.b64decode(text) if encoding == "base64" else text.encode()


def payload_text(raw: bytes, limit: int | None = None) -> tuple[str, Literal["utf-8", "base64"]]:
    """Original bytes (the first ``limit``) as ``(text, encoding)``: UTF-8 when possible."""
    if limit is not None and len(raw) > limit:
        raw = raw[:limit]
        for cut in range(4):  # do not let a multi-byte character cut at the limit force base64
            try:
                return raw[: len(raw) - cut].decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                continue
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def dead_letter(
    error: InvalidEvent,
    *,
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    headers: Sequence[tuple[str, bytes | None]] = (),
    at: datetime,
    consumer: str = "",
) -> DeadLetter:
    """The dead-letter record of an input that failed with ``error``; never raises for any input
    (oversized values, keys and headers are cut, see ``DEADLETTER_VALUE_BYTES``)."""
    value = bytes(value or b"")
    value_text, value_encoding = payload_text(value, DEADLETTER_VALUE_BYTES)
    key_text, key_encoding = (
        payload_text(bytes(key), _KEY_BYTES) if key is not None else (None, "utf-8")
    )
    texts = tuple(
        (
            str(name)[:_HEADER_CHARS],
            payload_text(bytes(raw or b""), _HEADER_CHARS)[0][:_HEADER_CHARS],
        )
        for name, raw in list(headers)[:64]
    )
    header_map = dict(texts)
    return DeadLetter(
        source_topic=(source_topic or "unknown")[:249],
        partition=max(-1, partition),
        offset=max(-1, offset),
        key=key_text,
        key_encoding=key_encoding,
        value=value_text,
        value_encoding=value_encoding,
        value_size=len(value),
        value_truncated=len(value) > DEADLETTER_VALUE_BYTES,
        headers=texts,
        reason=(error.reason or "unknown")[:100],
        detail=error.detail[:2000],
        errors=tuple(error.errors[:1000]),
        event_id=header_map["ce_id"][:200] if "ce_id" in header_map else None,
        event_type=header_map["ce_type"][:200] if "ce_type" in header_map else None,
        consumer=consumer[:100],
        at=at,
    )
