"""The partnerships every routing worker knows: the ``partnerships`` topic folded whole.

Each worker follows every partition (a ``TopicFollower``) into a :class:`PartnershipBook`, so the
router stamps each offer with the terms in force between the originator and the receiver when it
is made (``PartnershipBook.terms_between``). Undecodable records are counted and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.partnership import NetworkTerms, Partnership
from streams.partnerships.book import PartnershipBook
from streams.record_auth import RecordAuth
from streams.runtime import TopicFollower
from streams.settings import Settings

__all__ = ["PartnershipsView"]

log = logging.getLogger(__name__)


class PartnershipsView:
    def __init__(self, settings: Settings) -> None:
        self.book = PartnershipBook()
        self.invalid = 0
        self._auth = RecordAuth.from_settings(settings)  # forged terms are never applied
        self.view = TopicFollower(
            settings.bootstrap_servers,
            [settings.topic("partnerships")],
            self.apply_record,
            name="partnerships",
            client_options=settings.kafka_client_options(),
        )

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        if value is None:
            return
        try:
            self._auth.check(origin[0], key, value, headers)
            event = decode(value, headers).event
        except InvalidEvent as exc:
            self.invalid += 1
            log.warning(
                "ignored partnership record topic=%s partition=%d offset=%d: %s", *origin, exc
            )
            return
        if isinstance(event, Partnership | NetworkTerms):
            self.book.apply(event)
        else:
            self.invalid += 1
