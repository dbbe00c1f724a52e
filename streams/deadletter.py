"""The one error policy of every stream processor, and the dead-letter records it produces.

Modelled on quix-streams' ``on_processing_error(exc, row, logger) -> bool``: an agent never decides
by itself what a failure means. It hands the exception and the event to the injected policy, which
answers ``True`` (skip: the event goes to the dead-letter topic with the reason and the stream goes
on) or ``False`` (a bug or an outage: the agent raises and the worker stops, so the event is
redelivered after a fix instead of being lost).

The default policy dead-letters what the domain refuses — ``InvalidEvent`` (bad bytes, headers or
fields) and ``Refusal`` (an illegal transition, an unknown referral or opportunity) — and raises on
anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.codec import encode
from schemas.errors import InvalidEvent
from schemas.ids import event_id
from schemas.operations import dead_letter

__all__ = [
    "ErrorPolicy",
    "EventRef",
    "Refusal",
    "dead_letter_domain_errors",
    "dead_letter_record",
]

SOURCE = "oppbus/deadletter"


class Refusal(Exception):
    """A well-formed event the domain refuses. ``code`` is a stable reason code for dead letters
    and metrics (``illegal_transition``, ``unknown_referral``, ``unknown_opportunity``);
    ``outputs`` are records still to publish (e.g. an expiry that happened before the refusal)."""

    def __init__(
        self, reason: str, *, code: str = "illegal_transition", outputs: Sequence[Any] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.outputs = list(outputs)


@dataclass(frozen=True)
class EventRef:
    """Where an event came from: every log line and dead-letter record names it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()
    event_id: str | None = None

    def describe(self) -> str:
        return (
            f"topic={self.topic} partition={self.partition} offset={self.offset} "
            f"event_id={self.event_id or '-'}"
        )


ErrorPolicy = Callable[[BaseException, EventRef, logging.Logger], bool]


def dead_letter_domain_errors(exc: BaseException, event: EventRef, log: logging.Logger) -> bool:
    """Default policy: refused input goes to the dead-letter topic; anything else stops the worker."""
    if isinstance(exc, InvalidEvent | Refusal):
        log.warning("dead-lettered %s: %s", event.describe(), exc)
        return True
    log.error("processing failed %s: %r", event.describe(), exc, exc_info=exc)
    return False


def as_invalid_event(exc: BaseException) -> InvalidEvent:
    if isinstance(exc, InvalidEvent):
        return exc
    if isinstance(exc, Refusal):
        return InvalidEvent(exc.code, exc.reason)
    return InvalidEvent("processing_error", f"{type(exc).__name__}: {str(exc)[:500]}")


def dead_letter_record(
    exc: BaseException, event: EventRef, *, consumer: str, now: float | None = None
) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the dead-letter record of ``event``: reason, origin, original bytes."""
    at = datetime.fromtimestamp(now, UTC) if now is not None else datetime.now(UTC)
    record = dead_letter(
        as_invalid_event(exc),
        source_topic=event.topic,
        partition=event.partition,
        offset=event.offset,
        key=event.key,
        value=event.value or b"",
        headers=list(event.headers),
        at=at,
        consumer=consumer,
    )
    eid = event_id("deadletter", event.topic, str(event.partition), str(event.offset))
    enc = encode(record, source=SOURCE, id=eid, time=at)
    return event.key, enc.value, enc.headers
