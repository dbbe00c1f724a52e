"""``oppbus fees verify [--broker URL]``: recompute every fee from the referral log and compare.

Reads the whole ``referrals`` topic (offers with the terms they carried, won and lost outcomes)
and the whole ``fees`` topic, recomputes each referral's fee events with the same pure ledger the
fee keeper uses (``streams.fees.book``), and prints every referral whose recorded fees differ
(missing, unexpected or different accruals and reversals; approvals recorded before their window
ended). Exit status 0 when everything agrees, 1 naming the referrals that differ.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from typing import Any

from schemas.codec import decode
from schemas.errors import InvalidEvent
from schemas.fees import FeeRecorded
from streams.fees.book import Difference, FeeBook, wanted
from streams.record_auth import RecordAuth
from streams.runtime import TopicFollower
from streams.settings import Settings, load_settings

__all__ = ["add_arguments", "read_book", "run", "verify"]


async def read_book(settings: Settings) -> FeeBook:
    """The fee book of everything on the bus now (both topics read to their end)."""
    book = FeeBook()
    auth = RecordAuth.from_settings(settings)  # forged records count for nothing here either

    def on_referral(key: Any, value: bytes | None, headers: Any, origin: Any) -> None:
        with contextlib.suppress(InvalidEvent):
            if value is not None and wanted(headers):
                auth.check(origin[0], key, value, headers)
                envelope = decode(value, headers)
                book.on_referral(envelope.event, envelope.id)

    def on_fee(key: Any, value: bytes | None, headers: Any, origin: Any) -> None:
        with contextlib.suppress(InvalidEvent):
            if value is not None:
                auth.check(origin[0], key, value, headers)
                event = decode(value, headers).event
                if isinstance(event, FeeRecorded):
                    book.on_fee(event)

    options = settings.kafka_client_options()
    readers = [
        TopicFollower(settings.bootstrap_servers, [settings.topic("referrals")], on_referral,
                      name="verify-referrals", client_options=options),
        TopicFollower(settings.bootstrap_servers, [settings.topic("fees")], on_fee,
                      name="verify-fees", client_options=options),
    ]  # fmt: skip
    await asyncio.gather(*(reader.read_to_end() for reader in readers))
    return book


async def verify(settings: Settings, now: datetime | None = None) -> list[Difference]:
    book = await read_book(settings)
    return book.verify(now or datetime.now(UTC))


def run(args: argparse.Namespace) -> int:
    import os

    from ops.keys import MissingKey, provision_keys

    try:  # without the bus's service key every record would look forged: no vacuous "agrees"
        settings = provision_keys(
            load_settings({"broker": args.broker, "log_level": "warning"}),
            os.environ,
            standalone=True,
        )
    except MissingKey as exc:
        print(f"oppbus: error: {exc}", file=sys.stderr)
        return 2
    book = asyncio.run(read_book(settings))
    differences = book.verify(datetime.now(UTC))
    for d in differences:
        print(f"{d.referral_id}: {d.detail}")
    print(
        f"{len(book.referrals)} referrals under terms, {len(book.recorded)} fee events recorded: "
        + (f"{len(differences)} differ" if differences else "the fee ledger agrees"),
        file=sys.stderr if differences else sys.stdout,
    )
    return 1 if differences else 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="fees_action", metavar="ACTION", required=True)
    v = actions.add_parser(
        "verify",
        help="recompute every fee from the referral log and the terms; exit 1 naming the "
        "referrals whose recorded fees differ",
        description=__doc__,
    )
    v.add_argument("--broker", metavar="URL", help="kafka://host:port (default 127.0.0.1:9092)")
