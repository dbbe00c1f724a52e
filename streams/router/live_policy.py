"""The routing policy of every routing worker, followed on the ``routing-policy`` topic.

Each worker folds the whole topic (on its ``SharedFollower``: every partition, no group) into a
:class:`streams.policy.PolicyBook`, so an operator's ``oppbus policy apply`` reaches every running
worker without a restart: the next opportunity is ranked with the new version, and its offers say
so (``policy_version``). A record that is not a usable policy is counted and logged with its
origin, and the version in force stays (it cannot be dead-lettered from here: every worker reads
it; ``oppbus policy apply`` checks a document before publishing it). A record without the bus's
MAC (streams/record_auth.py) is never applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from schemas.codec import Envelope
from schemas.policy import RoutingPolicy
from streams.event_sink import EventSink, Followed
from streams.policy import PolicyBook
from streams.runtime import SharedFollower
from streams.settings import Settings

__all__ = ["PolicyView"]

log = logging.getLogger(__name__)


class PolicyView:
    """``book`` stays current with the ``routing-policy`` topic once ``view.caught_up`` is set."""

    def __init__(self, settings: Settings, follower: SharedFollower) -> None:
        self.book = PolicyBook()
        # a policy decides who gets leads: only the bus's own (oppbus policy apply) counts
        self.sink = EventSink(settings, ["routing-policy"], self._apply, log=log)
        self.view = follower.follow(self.sink.full_topics, self.apply_record, name="routing-policy")

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        skipped = self.sink.skipped
        self.sink(key, value, headers, origin)
        self.book.invalid += self.sink.skipped - skipped  # forged or undecodable

    def _apply(self, envelope: Envelope, origin: Followed) -> None:
        event = envelope.event
        if not isinstance(event, RoutingPolicy):
            self.book.invalid += 1
            log.warning("ignored %s at %s: not a RoutingPolicy", type(event).__name__, origin)
            return
        invalid = self.book.invalid
        if self.book.apply(event):
            log.info("routing policy version %d in force", event.version)
        elif self.book.invalid > invalid:
            log.warning("unusable policy at %s: %s", origin, self.book.last_error)
