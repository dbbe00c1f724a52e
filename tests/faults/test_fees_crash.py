"""Fault: kill -9 the worker while 500 won outcomes flow; the fee ledger still agrees.

500 referrals made under terms and won are written to the referral ledger (as the router writes
them) at about 250 records/s; the only worker (its fee keeper appends the fees) is killed with
SIGKILL in the middle of the stream and started again. Then ``fees verify`` agrees and every won
referral has exactly one standing fee: the appends lost or repeated around the crash are made
good by identity, never counted twice.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ops.fees_command import read_book
from schemas.common import Contract, Money
from schemas.ids import referral_id
from schemas.referrals import OfferMade, ReferralWon, Teaser
from schemas.terms import Terms
from streams.fees.book import event_of
from streams.fees.ledger import fold
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.bus import publish
from tests.faults.figures import report_figures
from tests.faults.procs import WorkerPool

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

COUNT = 500
TERMS = Terms.model_validate({"referral_fee": {"percent": "7.5"}, "approval_days": 30})


def _events(unique: str) -> list[Contract]:
    now = datetime.now(UTC)
    out: list[Contract] = []
    for i in range(COUNT):
        about = {
            "opportunity_id": f"{unique}-{i}",
            "originator": "north",
            "partner_id": f"south-{i % 7}",
        }
        rid = referral_id("north", about["opportunity_id"], about["partner_id"])
        out.append(
            OfferMade(
                **about,
                referral_id=rid,
                round=1,
                rank=1,
                score=1.0,
                teaser=Teaser(
                    needs=("storage",),
                    region="DE",
                    industry="retail",
                    size_band="250k-1m",
                    currency="EUR",
                    expected_close=now.date(),
                ),
                offered_at=now,
                expires_at=now + timedelta(hours=1),
                terms=TERMS,
            )
        )
        out.append(
            ReferralWon(
                **about,
                referral_id=rid,
                amount=Money(amount=Decimal(1000 + i) + Decimal("0.33"), currency="EUR"),
                won_at=now + timedelta(seconds=1),
            )
        )
    return out


async def test_kill_9_the_worker_while_500_won_outcomes_flow(
    settings: Settings, workers: WorkerPool, unique: str
) -> None:
    await ensure_topics(settings)
    worker = await asyncio.to_thread(lambda: workers.add())
    events = _events(unique)
    started = time.monotonic()
    flowing = asyncio.create_task(publish(settings, events, rate=250))
    await asyncio.sleep(2.0)  # about half of the stream is on the ledger
    assert not flowing.done()

    def crash() -> None:
        worker.kill()
        worker.start().wait_ready()

    await asyncio.to_thread(crash)
    acked = await flowing
    assert len(acked) == 2 * COUNT
    differences: list[object] = ["not read yet"]
    deadline = time.monotonic() + 120
    while differences and time.monotonic() < deadline:
        book = await read_book(settings)
        differences = list(book.verify(datetime.now(UTC)))
        if differences:
            await asyncio.sleep(1.0)
    agreed_s = time.monotonic() - started
    workers.check_alive()
    assert not differences, differences[:5]
    fees = fold(event_of(r) for r in book.recorded.values())
    standing: dict[str, int] = {}
    for fee in fees.values():
        if fee.status != "reversed":
            standing[fee.referral_id] = standing.get(fee.referral_id, 0) + 1
    assert len(standing) == COUNT and set(standing.values()) == {1}
    report_figures(
        "kill -9 the worker during 500 won outcomes",
        won=COUNT,
        fees=len(fees),
        fee_events=len(book.recorded),
        agreed_after_s=round(agreed_s, 1),
        worker_starts=worker.starts,
    )
