"""What routing knows about past referrals: the scorecards' ``partner-stats``, read whole.

Every router folds the compacted ``partner-stats`` topic (one ``PartnerScorecard`` per partner,
the highest ``revision`` wins) into the routing core's ``PartnerStats`` (load against capacity,
acceptance and win rates, time to accept) and the reciprocity between pairs. It is eventually
consistent: a partner's load reflects the ledger up to the scorecards' lag (well under a second on
a healthy bus), so a burst may briefly over-offer a partner near its capacity.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.scorecard import PartnerScorecard
from streams.routing.stats import PartnerStats

__all__ = ["ScorecardStats"]

log = logging.getLogger(__name__)

_NEW = PartnerStats()


class ScorecardStats:
    """A ``StatsView`` over the latest scorecards (fed by a ``GlobalView`` of partner-stats)."""

    def __init__(self) -> None:
        self._stats: dict[str, PartnerStats] = {}
        self._revision: dict[str, int] = {}
        self._given: dict[tuple[str, str], int] = {}
        self.cards: dict[str, PartnerScorecard] = {}  # the latest scorecard of each partner

    def __len__(self) -> int:
        return len(self._stats)

    # -- StatsView -------------------------------------------------------------------------------
    def partner(self, partner_id: str) -> PartnerStats:
        return self._stats.get(partner_id, _NEW)

    def given(self, giver: str, receiver: str) -> int:
        return self._given.get((giver, receiver), 0)

    # -- feeding ---------------------------------------------------------------------------------
    def apply(self, card: PartnerScorecard) -> bool:
        """Keep ``card`` unless an equal or later revision of the partner is already known."""
        pid = card.partner_id
        if self._revision.get(pid, -1) >= card.revision:
            return False
        self._revision[pid] = card.revision
        self.cards[pid] = card
        self._stats[pid] = PartnerStats(
            offers_received=card.received,
            accepted=card.accepted,
            declined=card.declined,
            expired=card.expired,
            won=card.won,
            lost=card.lost,
            mean_s_to_accept=card.mean_seconds_to_accept,
            open_offers=card.open_offers + card.active,
        )
        for pair in card.reciprocity:
            self._given[(pid, pair.partner_id)] = pair.given_accepted
        return True

    def apply_record(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        """The ``GlobalView`` sink of the partner-stats topic."""
        del key
        if value is None:
            return
        try:
            event = decode(value, headers).event
        except InvalidEvent as exc:
            log.warning("ignored stats record topic=%s partition=%d offset=%d: %s", *origin, exc)
            return
        if isinstance(event, PartnerScorecard):
            self.apply(event)
