"""``oppbus policy show`` / ``oppbus policy apply FILE``: the routing policy on the log.

``show`` reads the ``routing-policy`` topic of the bus at ``--broker`` and prints the version in
force as a TOML document (``--json``: one JSON object). ``apply`` checks a TOML document (the
names of the ranking's weights and switches; unknown names and bad values are refused with the
reason, and nothing is published), then publishes it, complete, as the next version through the
bus's own producer. Running workers follow the topic and rank with it from their next
opportunity; every offer records the version that ranked it. An admin operation: on real Kafka
only the operator's principal may write the topic (ACLs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from schemas.codec import decode, encode
from schemas.errors import InvalidEvent
from schemas.events import RoutingPolicy
from schemas.policy import policy_key
from streams.policy import (
    PolicyBook,
    PolicyError,
    parse_toml,
    to_toml,
    weights_to_mapping,
)
from streams.record_auth import RecordAuth
from streams.runtime import Record, TopicFollower, ensure_topics
from streams.settings import Settings

__all__ = ["add_arguments", "apply_policy", "read_policies", "run"]

SOURCE = "oppbus/policy"


class _Versions:
    """The fold of the topic: the book, plus the highest version number seen (usable or not)."""

    def __init__(self) -> None:
        self.book = PolicyBook()
        self.highest = 0

    def __call__(self, record: Record) -> None:
        if record.value is None:
            return
        try:
            event = decode(record.value, list(record.headers)).event
        except InvalidEvent:
            return
        if isinstance(event, RoutingPolicy):
            self.highest = max(self.highest, event.version)
            self.book.apply(event)


async def read_policies(settings: Settings) -> _Versions:
    versions = _Versions()
    await TopicFollower(
        settings.bootstrap_servers, [settings.topic("routing-policy")], on_record=versions,
        name="policy", client_id=f"{settings.app_id}-policy",
        client_options=settings.kafka_client_options(), fetch_wait_ms=50, topic_wait_s=None,
    ).read_to_end()  # fmt: skip
    return versions


async def apply_policy(
    settings: Settings, text: str, *, note: str | None = None, applied_by: str = "operator"
) -> RoutingPolicy:
    """Check ``text`` and publish it as the next version (``PolicyError`` when it is refused)."""
    weights = parse_toml(text)
    await ensure_topics(settings)
    versions = await read_policies(settings)
    event = RoutingPolicy(
        version=versions.highest + 1,
        weights=weights_to_mapping(weights),
        applied_at=datetime.now(UTC),
        applied_by=applied_by,
        note=note,
    )
    enc = encode(event, source=SOURCE, id=f"policy-{event.version}", time=event.applied_at)
    topic, key = settings.topic("routing-policy"), policy_key(event.version)
    headers = RecordAuth.from_settings(settings).stamp(topic, key, enc.value, enc.headers)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        **settings.kafka_client_options(),
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, enc.value, key=key, headers=headers)
    finally:
        await producer.stop()
    return event


def _shown(versions: _Versions) -> dict[str, Any]:
    current = versions.book.current
    return {
        "version": current.version,
        "applied_at": current.applied_at.isoformat() if current.applied_at else None,
        "weights": weights_to_mapping(current.weights),
        "versions": sorted(v for v in versions.book.versions if v),
        "unusable": versions.book.invalid,
    }


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.policy_command == "show":
        versions = asyncio.run(read_policies(settings))
        shown = _shown(versions)
        if args.json:
            sys.stdout.write(orjson.dumps(shown).decode() + "\n")
            return 0
        current = versions.book.current
        header = (
            f"routing policy version {current.version}"
            + (f", applied {shown['applied_at']}" if current.applied_at else " (built-in defaults)")
            + "\nedit and publish as the next version: oppbus policy apply FILE"
        )
        sys.stdout.write(to_toml(current.weights, header=header))
        return 0
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read {path}: {exc}") from exc
    event = asyncio.run(apply_policy(settings, text, note=args.note))
    print(f"routing policy version {event.version} applied")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the routing policy in force (TOML)")
    show.add_argument("--json", action="store_true", help="one JSON object instead of TOML")
    apply = sub.add_parser(
        "apply",
        help="check a TOML policy document and publish it as the next version",
        description="FILE names any weights and switches of the ranking (oppbus policy show "
        "prints them all); a name left out takes the built-in default; unknown names and "
        "bad values are refused and nothing is published.",
    )
    apply.add_argument("file", metavar="FILE", help="TOML policy document")
    apply.add_argument("--note", help="why this version (kept with it on the log)")
    for p in (show, apply):
        p.add_argument("--broker", metavar="URL", help="kafka://host:port of the bus")
        p.add_argument("--broker-port", type=int, metavar="PORT", help="embedded broker port")
        p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None)
