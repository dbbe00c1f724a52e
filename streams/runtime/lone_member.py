"""Take back the input partitions the broker left with a group member that is gone.

The embedded broker (Tansu 0.6) forgets a member that stopped heartbeating (kill -9) only when
another member's request notices it, and the group's leader may meanwhile have assigned that
dead member some partitions. Measured on the fault suite's pattern (kill -9 the only worker,
start it again, three times a few seconds apart): 12 of 60 joins gave the new worker one of the
two ``opportunities`` partitions, the other going to the dead member. Usually the member's
expiry brings a new generation and the live worker gets everything; when it does not, nobody
consumes those partitions again and nothing says so.

Only the case we can prove from one worker is handled: when the group has **one member, this
worker**, every partition of the topics its streams read must be assigned to it. If some are not,
at two checks in a row (same generation), the worker logs a warning naming them, leaves the group
and joins it again as a new member, which makes the broker form a new generation with it alone.
With several live workers, a partition held by a dead one cannot be told apart from one held by
a live peer from here (Tansu's DescribeGroups carries no assignments); that case is left open.

``unowned`` (pure) is the rule; ``LoneMemberWatch.check`` gathers the facts and acts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.runtime.consumer_access import call_in_consumer_thread, group_coordinator
from streams.runtime.worker_state import settled

__all__ = ["LoneMemberWatch", "rejoin_as_new_member", "unowned"]

log = logging.getLogger(__name__)


def unowned(
    assigned: Iterable[tuple[str, int]],
    partitions: Mapping[str, int],
    members: Sequence[str],
    me: str,
) -> set[tuple[str, int]]:
    """Partitions of the input topics (``partitions``: topic -> count) nobody consumes: those
    not ``assigned`` to this worker, when this worker (``me``) is the group's only member."""
    if not me or list(members) != [me]:
        return set()
    mine = {(topic, partition) for topic, partition in assigned}
    return {(topic, p) for topic, count in partitions.items() for p in range(count)} - mine


def group_members(described: Iterable[Any], group: str) -> list[str] | None:
    """Member ids of ``group`` in a DescribeGroups answer; None when it is not there."""
    for response in described:
        for entry in getattr(response, "groups", ()):
            error_code, group_id, members = entry[0], entry[1], entry[5]
            if group_id == group and error_code == 0:
                return [member[0] for member in members]
    return None


class LoneMemberWatch:
    """Checks a Faust worker's share of its consumer group; acts at the second sighting."""

    def __init__(
        self,
        app: Any,
        bootstrap_servers: str | list[str],
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.bootstrap_servers = bootstrap_servers
        self.client_options = dict(client_options or {})
        self._seen: tuple[int, frozenset[tuple[str, int]]] | None = None

    def _input_partitions(self) -> dict[str, int]:
        consumer = self.app.consumer
        counts = {}
        for topic in self.app.topics.acking_topics:
            count = consumer.topic_partitions(topic)
            if count:
                counts[topic] = count
        return counts

    async def _members(self) -> list[str] | None:
        group = self.app.conf.id
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            request_timeout_ms=5_000,
            **self.client_options,
        )
        try:
            await admin.start()
            return group_members(await admin.describe_consumer_groups([group]), group)
        except KafkaError as exc:
            log.debug("group %s: members unavailable: %s", group, exc)
            return None
        finally:
            await admin.close()

    async def check(self) -> set[tuple[str, int]]:
        """Rejoin when this lone member was left without some input partitions; returns them."""
        app = self.app
        consumer = app.consumer
        if not settled(app):
            self._seen = None
            return set()
        counts = self._input_partitions()
        assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        if all((t, p) in assigned for t, n in counts.items() for p in range(n)):
            self._seen = None
            return set()
        coordinator = group_coordinator(app)
        generation, me = coordinator.generation, coordinator.member_id
        members = await self._members()
        missing = unowned(assigned, counts, members or [], me)
        if not missing or coordinator.generation != generation:
            self._seen = None
            return set()
        sighting = (generation, frozenset(missing))
        if self._seen != sighting:
            self._seen = sighting
            return set()
        self._seen = None
        log.warning(
            "consumer group %s: this worker is its only member but the broker assigned it "
            "none of %s (generation %d, left with a member that is gone): leaving the group "
            "and joining it again",
            app.conf.id,
            ", ".join(f"{t}[{p}]" for t, p in sorted(missing)),
            generation,
        )
        await rejoin_as_new_member(app)
        return missing


async def rejoin_as_new_member(app: Any) -> None:
    """Leave the consumer group and join it again as a new member (a new member id and generation)."""
    await call_in_consumer_thread(app, _rejoin_as_new_member, group_coordinator(app))


async def _rejoin_as_new_member(coordinator: Any) -> None:
    """LeaveGroup, forget the member id and generation, and ask for a join (consumer thread)."""
    await coordinator._maybe_leave_group()
    coordinator.request_rejoin()
