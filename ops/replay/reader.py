"""The history a replay reads: every record of the topics routing depends on, in event order.

Topics: ``partners`` (profiles), ``partnerships`` (the partnership factor and the scope of
``partners_only`` opportunities), ``routing-policy`` (versions), ``partner-stats`` (the scorecards
the live router ranks with), ``opportunities`` and ``referrals`` (offers, outcomes, unroutable and
conflict notices). Read once with a ``TopicFollower`` up to the end it had at the start (no consumer group,
nothing written), decoded,
and ordered by record time, then topic, partition and offset (a record's own partition order is
kept). Records that do not decode are counted and left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.codec import decode
from schemas.common import Contract
from schemas.errors import InvalidEvent
from schemas.events import (
    ConflictFlagged,
    OfferMade,
    Opportunity,
    OpportunityUnroutable,
    PartnerProfile,
    PartnerScorecard,
    Partnership,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralLost,
    ReferralWon,
    RoutingPolicy,
)
from streams.runtime import Progress, Record, TopicFollower
from streams.settings import Settings

__all__ = ["HISTORY_TOPICS", "History", "read_history"]

# Read in this order; on equal record times the earlier topic comes first.
HISTORY_TOPICS = (
    "partners",
    "partnerships",
    "routing-policy",
    "partner-stats",
    "opportunities",
    "referrals",
)

_KEPT: tuple[type[Contract], ...] = (
    PartnerProfile,
    Partnership,
    RoutingPolicy,
    PartnerScorecard,
    Opportunity,
    OfferMade,
    OpportunityUnroutable,
    ConflictFlagged,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralWon,
    ReferralLost,
)


@dataclass
class History:
    """The decoded events, sortable into event order."""

    rows: list[tuple[int, int, int, int, Contract]] = field(default_factory=list)
    read: int = 0
    undecodable: Counter[str] = field(default_factory=Counter)
    topic_rank: dict[str, int] = field(default_factory=dict)

    def __call__(self, record: Record) -> None:
        self.read += 1
        if record.value is None:
            return
        try:
            event = decode(record.value, list(record.headers)).event
        except InvalidEvent as exc:
            self.undecodable[exc.reason] += 1
            return
        if isinstance(event, _KEPT):
            rank = self.topic_rank.get(record.topic, len(HISTORY_TOPICS))
            self.rows.append((record.timestamp, rank, record.partition, record.offset, event))

    def events(self) -> list[tuple[float, Contract]]:
        """(time in epoch seconds, event), in event order."""
        self.rows.sort(key=lambda row: row[:4])
        return [(ts / 1000.0, event) for ts, _r, _p, _o, event in self.rows]


async def read_history(
    settings: Settings,
    *,
    topics: Sequence[str] = HISTORY_TOPICS,
    progress: Progress | None = None,
) -> History:
    names = [settings.topic(t) for t in topics]
    history = History(topic_rank={name: i for i, name in enumerate(names)})
    reader = TopicFollower(
        settings.bootstrap_servers,
        names,
        on_record=history,
        name="replay",
        client_id=f"{settings.app_id}-replay",
        client_options=settings.kafka_client_options(),
        fetch_wait_ms=50,
        topic_wait_s=None,  # a topic not created yet has no history
    )
    await reader.read_to_end(progress)
    return history
