"""Create the bus topics when they are missing (``oppbus up`` and ``oppbus worker``)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import TOPICS
from streams.settings import Settings

__all__ = ["ensure_topics"]


async def ensure_topics(settings: Settings) -> list[str]:
    """Create every catalogue topic that does not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, **settings.kafka_client_options()
    )
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
