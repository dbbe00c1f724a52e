"""The partnerships every routing worker knows: the ``partnerships`` topic folded whole.

Each worker follows every partition (on its ``SharedFollower``) into a :class:`PartnershipBook`,
so the router stamps each offer with the terms in force between the originator and the receiver
when it is made (``PartnershipBook.terms_between``). Undecodable records are counted and logged.
"""

from __future__ import annotations

import logging

from schemas.codec import Envelope
from schemas.partnership import NetworkTerms, Partnership
from streams.event_sink import EventSink, Followed
from streams.partnerships.book import PartnershipBook
from streams.runtime import SharedFollower
from streams.settings import Settings

__all__ = ["PartnershipsView"]

log = logging.getLogger(__name__)


class PartnershipsView:
    def __init__(self, settings: Settings, follower: SharedFollower) -> None:
        self.book = PartnershipBook()
        self._other = 0
        self.sink = EventSink(settings, ["partnerships"], self._apply, log=log)  # MAC checked
        self.view = follower.follow(self.sink.full_topics, self.sink, name="partnerships")

    @property
    def invalid(self) -> int:
        """Records not applied: forged, undecodable, or not a partnership event."""
        return self.sink.skipped + self._other

    def _apply(self, envelope: Envelope, origin: Followed) -> None:
        event = envelope.event
        if isinstance(event, Partnership | NetworkTerms):
            self.book.apply(event)
        else:
            self._other += 1
            log.warning("ignored %s at %s: not a partnership event", type(event).__name__, origin)
