"""The whole ``partner-stats`` topic as routing reads it: the latest scorecard of every partner.

:class:`ScorecardBook` is a record sink (feed it every record of every partition, e.g. from a
whole-topic view such as ``streams.runtime.follower.TopicFollower``) and a routing ``StatsView``:

* ``partner(partner_id)`` -> :class:`streams.routing.stats.PartnerStats`, derived from the latest
  scorecard by :func:`partner_stats`; a partner without one gets ``PartnerStats()`` (all zero);
* ``given(giver, receiver)`` -> referrals ``giver`` originated that ``receiver`` accepted, from the
  giver's reciprocity list.

A snapshot with a lower revision than the one kept is ignored (a re-delivery, or an older copy
read after a newer one), so the book only moves forward; a tombstone forgets the partner.

For the directory's index (``PartnerDirectory.sync_stats``) the book also answers
``changes_since(revision)`` (the partners changed since, from a bounded log: ``None`` when the
log no longer reaches that far, and everything is recomputed) and ``peers(partner_id)`` (the
partners with a non-zero reciprocity count with it, either way).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection, Iterator, Sequence

from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.scorecard import PartnerScorecard, empty_scorecard
from streams.routing.stats import NEW_PARTNER, PartnerStats

__all__ = ["ScorecardBook", "partner_stats"]

log = logging.getLogger(__name__)

CHANGE_LOG = 65_536  # changed partners remembered for changes_since()


def partner_stats(card: PartnerScorecard) -> PartnerStats:
    """The routing core's view of a scorecard. ``open_offers`` there is everything that counts
    against capacity: offers awaiting an answer plus accepted referrals not closed yet."""
    return PartnerStats(
        offers_received=card.received,
        accepted=card.accepted,
        declined=card.declined,
        expired=card.expired,
        won=card.won,
        lost=card.lost,
        mean_s_to_accept=card.mean_seconds_to_accept,
        open_offers=card.open_offers + card.active,
    )


class ScorecardBook:
    """Latest scorecard per partner, fed record by record; a routing ``StatsView``."""

    def __init__(self) -> None:
        self._cards: dict[str, PartnerScorecard] = {}
        self._stats: dict[str, PartnerStats] = {}
        self._given: dict[tuple[str, str], int] = {}
        self._peers: dict[str, set[str]] = {}
        self._revision = 0
        self._changes: deque[tuple[int, str]] = deque(maxlen=CHANGE_LOG)
        self.applied = 0
        self.skipped = 0

    # --- the sink ---------------------------------------------------------------------------

    def __call__(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        origin: tuple[str, int, int],
    ) -> None:
        """Apply one ``partner-stats`` record (``origin``: topic, partition, offset, for logs)."""
        if value is None:
            if key is not None:
                self._forget(key.decode("utf-8", "replace"))
            return
        try:
            event = decode(value, headers).event
        except InvalidEvent as exc:
            self._skip(origin, f"{exc.reason}: {exc}")
            return
        if not isinstance(event, PartnerScorecard):
            self._skip(origin, f"not a scorecard: {type(event).__name__}")
            return
        if key is not None and key != event.partner_id.encode():
            self._skip(origin, f"key {key[:80]!r} is not partner {event.partner_id}")
            return
        self.apply(event)

    def apply(self, card: PartnerScorecard) -> bool:
        """Keep ``card`` unless an equal or newer revision is kept already; True when kept."""
        current = self._cards.get(card.partner_id)
        if current is not None and card.revision <= current.revision:
            return False
        self._forget(card.partner_id)
        self._cards[card.partner_id] = card
        self._stats[card.partner_id] = partner_stats(card)
        for pair in card.reciprocity:
            if pair.given_accepted:
                self._given[(card.partner_id, pair.partner_id)] = pair.given_accepted
                self._peers.setdefault(card.partner_id, set()).add(pair.partner_id)
                self._peers.setdefault(pair.partner_id, set()).add(card.partner_id)
        self._changed(card.partner_id)
        self.applied += 1
        return True

    def _changed(self, partner_id: str) -> None:
        self._revision += 1
        self._changes.append((self._revision, partner_id))

    def _forget(self, partner_id: str) -> None:
        current = self._cards.pop(partner_id, None)
        self._stats.pop(partner_id, None)
        if current is not None:
            for pair in current.reciprocity:
                other = pair.partner_id
                if self._given.pop((partner_id, other), None) and (other, partner_id) not in (
                    self._given
                ):
                    self._peers.get(partner_id, set()).discard(other)
                    self._peers.get(other, set()).discard(partner_id)
            self._changed(partner_id)

    def _skip(self, origin: tuple[str, int, int], why: str) -> None:
        self.skipped += 1
        topic, partition, offset = origin
        log.warning("scorecards: skipped %s[%d]@%d: %s", topic, partition, offset, why[:300])

    # --- reads ------------------------------------------------------------------------------

    def scorecard(self, partner_id: str) -> PartnerScorecard:
        """The partner's latest scorecard (all zero when no referral touched it yet)."""
        return self._cards.get(partner_id) or empty_scorecard(partner_id)

    def partner(self, partner_id: str) -> PartnerStats:
        return self._stats.get(partner_id, NEW_PARTNER)

    def given(self, giver: str, receiver: str) -> int:
        return self._given.get((giver, receiver), 0)

    def peers(self, partner_id: str) -> Collection[str]:
        return self._peers.get(partner_id, ())

    def changes_since(self, revision: int) -> tuple[int, Collection[str] | None]:
        """(the current revision, the partners changed after ``revision``, or None when the
        log does not reach back that far)."""
        if revision == self._revision:
            return revision, ()
        if not self._changes or self._changes[0][0] > revision + 1 or revision > self._revision:
            return self._revision, None
        changed: set[str] = set()
        for rev, partner_id in reversed(self._changes):
            if rev <= revision:
                break
            changed.add(partner_id)
        return self._revision, changed

    def __len__(self) -> int:
        return len(self._cards)

    def __iter__(self) -> Iterator[PartnerScorecard]:
        return iter(list(self._cards.values()))
