"""Every adaptation of faust-streaming, mode, aiokafka and the embedded broker (Tansu), in one room.

Domain code imports this public surface only; ``README.md`` beside this file lists each
adaptation, the upstream behaviour it works around, the test under
``tests/regression/upstream/`` that shows that behaviour, and when it can go.
"""

from streams.runtime.app import OppbusApp, create_app
from streams.runtime.changelog_writer import ChangelogWriter, json_table
from streams.runtime.commit_guard import unacked_if_failed, withhold_ack
from streams.runtime.consumer_access import (
    aiokafka_consumer,
    call_in_consumer_thread,
    group_coordinator,
    refresh_metadata,
)
from streams.runtime.end_offsets import end_offsets
from streams.runtime.follower import (
    Origin,
    Progress,
    Record,
    RecordSink,
    TopicFollower,
    WholeRecordSink,
    start_whole,
)
from streams.runtime.kafka_probe import kafka_answers
from streams.runtime.pins import PINS, PinMismatch, check_pins
from streams.runtime.shared_follower import FollowedTopics, SharedFollower
from streams.runtime.startup import (
    freeze_start_up_objects,
    quiet_root_logger,
    use_uvloop,
    warm_producer,
)
from streams.runtime.topic_admin import ensure_topics

__all__ = [
    "PINS",
    "ChangelogWriter",
    "FollowedTopics",
    "OppbusApp",
    "Origin",
    "PinMismatch",
    "Progress",
    "Record",
    "RecordSink",
    "SharedFollower",
    "TopicFollower",
    "WholeRecordSink",
    "aiokafka_consumer",
    "call_in_consumer_thread",
    "check_pins",
    "create_app",
    "end_offsets",
    "ensure_topics",
    "freeze_start_up_objects",
    "group_coordinator",
    "json_table",
    "kafka_answers",
    "quiet_root_logger",
    "refresh_metadata",
    "start_whole",
    "unacked_if_failed",
    "use_uvloop",
    "warm_producer",
    "withhold_ack",
]
