"""Fault-injection harness, the standard scenario: a stream of opportunities with faults on cue.

``Scenario`` seeds the partners, publishes ``count`` opportunities at ``rate`` per second and, when
the acknowledged count reaches each cue, runs that fault (kill a worker, add one, restart the
broker...). Faults run in a thread so publishing never pauses. Recovery is measured from each
fault to the next growth of the ledger. ``verify`` then reads the ledger until every acknowledged
opportunity is offered (or a time limit) and checks it with ``tests.faults.ledger``.

A few opportunities (every ``deadline_every``-th) have a 1 s response deadline and may go to two
partners only (``share_with``): nobody answers, so both offers must expire, one after the other,
and the opportunity ends unroutable - deadlines must keep firing across the faults.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.events import ReferralExpired
from schemas.ids import referral_id, split_opportunity_key
from schemas.operations import OpportunityUnroutable
from streams.settings import Settings
from tests.faults.bus import (
    end_offsets,
    make_opportunity,
    offers_of,
    partner_profiles,
    publish,
    read_topic,
)
from tests.faults.ledger import LedgerReport, check_offers, expiries_missing

__all__ = ["Cue", "Outcome", "Scenario"]

Cue = tuple[float, str, Callable[[], None]]  # (fraction of the stream, name, fault)


@dataclass
class Outcome:
    acked: list[str]
    report: LedgerReport
    missing_expiries: list[str]
    recoveries: dict[str, float]
    elapsed_s: float
    ledger_records: int
    lost_detail: dict[str, list[str]] = field(default_factory=dict)

    def figures(self) -> dict[str, object]:
        rec = list(self.recoveries.values())
        return {
            "events": len(self.acked),
            **self.report.figures(),
            "missing_expiries": len(self.missing_expiries),
            "recovered_max_s": round(max(rec), 1) if rec else None,
            "recoveries_s": {k: round(v, 1) for k, v in self.recoveries.items()},
            "elapsed_s": round(self.elapsed_s, 1),
            "ledger_records": self.ledger_records,
        }


@dataclass
class Scenario:
    settings: Settings
    run: str
    count: int = 5000
    rate: float = 250.0
    partners: int = 8
    deadline_every: int = 100
    cues: list[Cue] = field(default_factory=list)
    health: Callable[[], None] | None = None  # raises when a worker died on its own
    tolerate: bool = False  # the broker goes down: unacknowledged sends are not expected
    recoveries: dict[str, float] = field(default_factory=dict)

    def _events(self) -> list:
        out = []
        for i in range(self.count):
            if self.deadline_every and i % self.deadline_every == 0:
                opp = make_opportunity(i, run=self.run, respond_within_s=1)
                opp = opp.model_copy(update={"share_with": ("store-000", "store-001")})
            else:
                opp = make_opportunity(i, run=self.run)
            out.append(opp)
        return out

    def deadline_keys(self) -> set[str]:
        step = self.deadline_every
        return (
            {f"origin-net/{self.run}-{i:06d}" for i in range(0, self.count, step)}
            if step
            else set()
        )

    async def seed(self) -> None:
        await publish(self.settings, partner_profiles(self.partners))

    async def stream(self) -> tuple[list[str], float]:
        """Publish the stream, firing each cue once; returns acknowledged keys and elapsed s."""
        cues = sorted(self.cues, key=lambda c: c[0])
        fired: list[asyncio.Task[None]] = []
        loop = asyncio.get_running_loop()

        def on_progress(acked: int) -> None:
            while cues and acked >= cues[0][0] * self.count:
                _, name, fault = cues.pop(0)
                fired.append(loop.create_task(self._inject(name, fault)))

        started = time.monotonic()
        acked = await publish(
            self.settings, self._events(), rate=self.rate, on_progress=on_progress
        )
        for _, name, fault in cues:  # cues beyond the acknowledged count still run, at the end
            fired.append(loop.create_task(self._inject(name, fault)))
        await asyncio.gather(*fired)
        return acked, time.monotonic() - started

    async def _inject(self, name: str, fault: Callable[[], None]) -> None:
        before = await end_offsets(self.settings, "referrals")
        at = time.monotonic()
        await asyncio.to_thread(fault)
        deadline = at + 120
        while time.monotonic() < deadline:
            if self.health is not None:
                self.health()
            if await end_offsets(self.settings, "referrals") > before:
                break
            await asyncio.sleep(0.2)
        self.recoveries[name] = time.monotonic() - at

    async def verify(self, acked: list[str], elapsed: float, within: float = 180.0) -> Outcome:
        """Read the ledger until every acknowledged opportunity is handled; check it."""
        expected = set(acked)
        slow = self.deadline_keys() & expected

        def done(records: list) -> bool:
            offers = offers_of(records)
            offered = {o.opportunity_key for o in offers}
            return expected <= offered and slow <= _unroutable(records)

        records = await read_topic(
            self.settings, "referrals", done=done, within=within, health=self.health
        )
        offers = offers_of(records)
        report = check_offers(
            expected,
            offers,
            referral_id_of=lambda key, partner: referral_id(*split_opportunity_key(key), partner),
        )
        expired = {
            env.event.referral_id
            for env in (r.envelope for r in records)
            if env is not None and isinstance(env.event, ReferralExpired)
        }
        slow_offers = {o.referral_id for o in offers if o.opportunity_key in slow}
        detail: dict[str, list[str]] = {key: [] for key in report.lost[:5]}
        for record in records:  # what the ledger says about a few lost opportunities
            env = record.envelope
            about = getattr(env.event, "opportunity_id", None) if env else None
            key = f"{getattr(env.event, 'originator', '')}/{about}" if env else ""
            if env is not None and key in detail:
                detail[key].append(env.type.removeprefix("io.oppbus."))
        return Outcome(
            acked=acked,
            report=report,
            missing_expiries=expiries_missing(slow_offers, expired),
            recoveries=dict(self.recoveries),
            elapsed_s=elapsed,
            ledger_records=len(records),
            lost_detail=detail,
        )


def _unroutable(records: list) -> set[str]:
    keys = set()
    for record in records:
        env = record.envelope
        if env is not None and isinstance(env.event, OpportunityUnroutable):
            keys.add(f"{env.event.originator}/{env.event.opportunity_id}")
    return keys
