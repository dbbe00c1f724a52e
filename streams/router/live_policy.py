"""The routing policy of every routing worker, followed on the ``routing-policy`` topic.

Each worker folds the whole topic (a ``TopicFollower``: every partition, no consumer group) into a
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

from schemas.errors import InvalidEvent
from schemas.policy import RoutingPolicy
from streams.policy import PolicyBook
from streams.record_auth import RecordAuth
from streams.router.records import decode_as
from streams.runtime import TopicFollower
from streams.settings import Settings

__all__ = ["PolicyView"]

log = logging.getLogger(__name__)


class PolicyView:
    """``book`` stays current with the ``routing-policy`` topic once ``view.caught_up`` is set."""

    def __init__(self, settings: Settings) -> None:
        self.book = PolicyBook()
        self._auth = RecordAuth.from_settings(settings)
        self.view = TopicFollower(
            settings.bootstrap_servers,
            [settings.topic("routing-policy")],
            self.apply_record,
            name="routing-policy",
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
        try:  # a policy decides who gets leads: only the bus's own (oppbus policy apply) counts
            self._auth.check(origin[0], key, value, headers)
        except InvalidEvent as exc:
            self.book.invalid += 1
            log.warning("ignored policy record topic=%s partition=%d offset=%d: %s", *origin, exc)
            return
        event = decode_as(RoutingPolicy, value, headers, origin, log)
        if event is None:
            self.book.invalid += 1
            return
        invalid = self.book.invalid
        if self.book.apply(event):
            log.info("routing policy version %d in force", event.version)
        elif self.book.invalid > invalid:
            log.warning(
                "unusable policy topic=%s partition=%d offset=%d: %s", *origin, self.book.last_error
            )
