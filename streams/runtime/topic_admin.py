"""Create the bus topics when they are missing (``oppbus up`` and ``oppbus worker``)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import TOPICS
from streams.settings import Settings

__all__ = ["ensure_topics", "group_state", "worker_group_stable"]


async def ensure_topics(settings: Settings) -> list[str]:
    """Create every catalogue topic that does not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(spec.name),
                num_partitions=spec.partitions or settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=spec.config(),
            )
            for spec in TOPICS
            if settings.topic(spec.name) not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        return [t.name for t in wanted]
    finally:
        await admin.close()


def group_state(described: list[object], group: str) -> tuple[str, int]:
    """(state, member count) of ``group`` in a DescribeGroups answer; ("Dead", 0) when absent."""
    for response in described:
        for entry in getattr(response, "groups", ()):
            error_code, group_id, state, members = entry[0], entry[1], entry[2], entry[5]
            if group_id == group and error_code == 0:
                return str(state), len(members)
    return "Dead", 0


async def worker_group_stable(settings: Settings) -> bool:
    """True when the workers' consumer group (the app id) has members and finished assignment:
    from then on a published opportunity is routed without waiting for a rebalance."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        await admin.start()
        described = await admin.describe_consumer_groups([settings.app_id])
        state, members = group_state(described, settings.app_id)
    finally:
        await admin.close()
    return state == "Stable" and members > 0
