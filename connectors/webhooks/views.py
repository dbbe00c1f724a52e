"""What the dispatcher and the API know about webhooks, and how they keep it current.

:class:`WebhookViews` is pure and in memory: each partner's latest subscription (last writer wins by
``version``; a stale record changes nothing), the delivery log (every settled
:class:`~schemas.webhooks.WebhookDelivery`, by referral and by ``webhook_id``; a redrive's record,
with a higher ``redrive``, replaces the dead one) and the latest redrive asked per delivery.

Bounded: with a ``retention_s`` (``OPPBUS_CLOSED_RETENTION_S``, 30 days, as the API forgets closed
opportunities), a delivery is forgotten — with its redrive ask — once a delivery settled more than
``retention_s`` after it is applied (event time: the log's own clock, so every process reading the
same topics forgets the same deliveries, and a replay from the beginning keeps only the last
window). A redriven delivery counts from its last settling. The topics keep them all.

:class:`~streams.event_sink.EventFollower` feeds it: it reads compacted topics from the beginning
with no consumer group (every process that needs the whole table reads every partition itself),
and its ``start`` returns once everything that existed at start-up has been applied — so the
dispatcher never handles a lead before it knows the subscriptions — then keeps tailing.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from schemas.common import Contract
from schemas.webhooks import WebhookDelivery, WebhookRedrive, WebhookSubscription
from streams.event_sink import EventFollower

__all__ = ["FOLLOWER", "VIEWS", "WebhookViews"]


@dataclass
class WebhookViews:
    subscriptions: dict[str, WebhookSubscription] = field(default_factory=dict)
    settled: dict[str, WebhookDelivery] = field(default_factory=dict)
    by_referral: dict[str, list[WebhookDelivery]] = field(default_factory=lambda: defaultdict(list))
    redrives: dict[str, WebhookRedrive] = field(default_factory=dict)
    retention_s: float | None = None  # None: keep every delivery
    forgotten: int = field(default=0, init=False)  # deliveries expired
    # (settled at, webhook id) of every settling while a retention is set: a heap
    _expiry: list[tuple[datetime, str]] = field(default_factory=list, init=False, repr=False)

    def apply(self, event: Contract) -> bool:
        """Apply one record; True when it changed something."""
        if isinstance(event, WebhookSubscription):
            current = self.subscriptions.get(event.partner_id)
            if current is not None and current.version >= event.version:
                return False
            self.subscriptions[event.partner_id] = event
            return True
        if isinstance(event, WebhookDelivery):
            settled = self.settled.get(event.webhook_id)
            if settled is not None and settled.redrive >= event.redrive:
                return False  # a repeated record; or an older one than a redrive's
            self.settled[event.webhook_id] = event
            log = self.by_referral[event.referral_id]
            if settled is not None:
                log[:] = [d for d in log if d.webhook_id != event.webhook_id]
            log.append(event)
            if self.retention_s is not None:
                heapq.heappush(self._expiry, (event.settled_at, event.webhook_id))
                self.expire(event.settled_at)
            return True
        if isinstance(event, WebhookRedrive):
            asked = self.redrives.get(event.webhook_id)
            if asked is not None and asked.redrive >= event.redrive:
                return False
            self.redrives[event.webhook_id] = event
            return True
        return False

    def expire(self, now: datetime) -> int:
        """Forget the deliveries settled more than ``retention_s`` before ``now``; how many."""
        if self.retention_s is None:
            return 0
        cutoff = now - timedelta(seconds=self.retention_s)
        gone = 0
        while self._expiry and self._expiry[0][0] < cutoff:
            settled_at, wid = heapq.heappop(self._expiry)
            current = self.settled.get(wid)
            if current is None or current.settled_at != settled_at:
                continue  # settled again since (a redrive): that settling has its own entry
            del self.settled[wid]
            self.redrives.pop(wid, None)
            log = self.by_referral.get(current.referral_id)
            if log is not None:
                log[:] = [d for d in log if d.webhook_id != wid]
                if not log:
                    del self.by_referral[current.referral_id]
            gone += 1
        self.forgotten += gone
        return gone

    def subscription(self, partner_id: str) -> WebhookSubscription | None:
        """The partner's active subscription, if any."""
        sub = self.subscriptions.get(partner_id)
        return sub if sub is not None and sub.active else None

    def is_settled(self, webhook_id: str) -> bool:
        return webhook_id in self.settled

    def log_for(self, partner_id: str, referral_id: str | None = None) -> list[WebhookDelivery]:
        """The partner's delivery log (one lead's when ``referral_id`` is given), oldest first."""
        if referral_id is not None:
            items = self.by_referral.get(referral_id, [])
        else:
            items = [d for ds in self.by_referral.values() for d in ds]
        mine = (d for d in items if d.partner_id == partner_id)
        return sorted(mine, key=lambda d: (d.first_settled, d.webhook_id))


# Where the API app keeps them (connectors/webhooks/routes.py, admin_routes.py).
VIEWS = web.AppKey("oppbus_webhook_views", WebhookViews)
FOLLOWER = web.AppKey("oppbus_webhook_follower", EventFollower)
