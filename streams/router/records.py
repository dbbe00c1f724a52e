"""Decoding the records of a whole-topic view that holds one event type, or saying why not."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from schemas.codec import decode
from schemas.common import Contract
from schemas.errors import InvalidEvent

__all__ = ["decode_as"]

E = TypeVar("E", bound=Contract)


def decode_as(
    model: type[E],
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    origin: tuple[str, int, int],
    log: logging.Logger,
) -> E | None:
    """The record's event when it is a valid ``model``; else None, logged with its origin
    (topic, partition, offset). Such records cannot be dead-lettered by a view: every worker
    reads them."""
    try:
        event = decode(value, headers).event
    except InvalidEvent as exc:
        log.warning("ignored record topic=%s partition=%d offset=%d: %s", *origin, exc)
        return None
    if not isinstance(event, model):
        log.warning(
            "ignored %s on topic=%s partition=%d offset=%d: not a %s",
            type(event).__name__, *origin, model.__name__,
        )  # fmt: skip
        return None
    return event
