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
import logging
import sys
from datetime import UTC, datetime

from schemas.codec import Envelope
from schemas.fees import FeeRecorded
from streams.event_sink import EventSink, Followed
from streams.fees.book import Difference, FeeBook, wanted
from streams.runtime import TopicFollower
from streams.settings import Settings, load_settings

__all__ = ["add_arguments", "read_book", "run", "verify"]

log = logging.getLogger("oppbus.fees.verify")


async def read_book(settings: Settings) -> FeeBook:
    """The fee book of everything on the bus now (both topics read to their end)."""
    book = FeeBook()

    def on_fee(envelope: Envelope, origin: Followed) -> None:
        if isinstance(envelope.event, FeeRecorded):
            book.on_fee(envelope.event)

    sinks = [  # forged records count for nothing here either (MACs checked)
        EventSink(settings, ["referrals"], lambda e, _o: book.on_referral(e.event, e.id),
                  log=log, wanted=wanted, skip_level=logging.DEBUG),
        EventSink(settings, ["fees"], on_fee, log=log, skip_level=logging.DEBUG),
    ]  # fmt: skip
    readers = [
        TopicFollower(settings.bootstrap_servers, sink.full_topics, sink, name=f"verify-{i}",
                      client_options=settings.kafka_client_options())
        for i, sink in enumerate(sinks)
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
