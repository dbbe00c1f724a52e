"""Routing policy as data on the real broker: applied live, recorded on offers, replayed exactly.

A worker routes six opportunities while an operator applies policy version 1, then version 2
(``oppbus policy apply``, the real command): the worker takes each without restart and every
offer names the version that ranked it. ``oppbus replay`` (the real command, against the same
broker) then reproduces every recorded first choice with the policy then in force, reports what
the candidate changes, writes its HTML report, and publishes nothing: no topic's end offset grows.
A partnership agreed between opportunities is read back from the partnerships topic, so the replay
reproduces the first choices it decided.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.events import OfferMade
from streams.runtime import end_offsets
from streams.runtime.app import create_app
from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from streams.wiring import Contexts, register_all
from tests.integration.bus_kit import Bus, active_partnership, opportunity, partner

pytestmark = pytest.mark.kafka

PARTNERS = ("storeco", "bigstore", "vaultco")


async def _oppbus(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "OPPBUS_TOPIC_PREFIX": settings.topic_prefix,
        "OPPBUS_APP_ID": settings.app_id,
        "OPPBUS_SERVICE_KEY": settings.service_key.get_secret_value(),  # the bus's keys
        "OPPBUS_DATA_KEYS": settings.data_keys.get_secret_value(),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.cli", *args, "--broker", str(settings.broker),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        mine = [t for t in await consumer.topics() if t.startswith(settings.topic_prefix)]
        tps = [TopicPartition(t, p) for t in mine for p in consumer.partitions_for_topic(t) or ()]
        return dict(await end_offsets(consumer, tps))
    finally:
        await consumer.stop()


def _settled(bus: Bus, contexts: Contexts) -> Callable[[], bool]:
    """The router's scorecards count every offer made so far (its next ranking sees them)."""

    def check() -> bool:
        for pid in PARTNERS:
            offers = len(bus.of(OfferMade, partner_id=pid))
            if contexts.stats.scorecard(pid).received != offers:
                return False
        return True

    return check


async def test_policy_applied_live_recorded_on_offers_and_replayed_exactly(
    settings: Settings, tmp_path: Path
) -> None:
    v1 = tmp_path / "v1.toml"
    v1.write_text("load = 2.0\nacceptance = 2.0\n")
    v2 = tmp_path / "v2.toml"
    v2.write_text("load = 0.0\nfit = 4.0  # specialists first\n")
    await ensure_topics(settings)
    app = create_app(settings)
    contexts = register_all(app, settings)
    async with Bus(settings) as bus:
        await bus.publish(
            partner("netco", ["networking"]),
            partner("storeco", ["storage"], capacity=2),
            partner("bigstore", ["storage", "backup", "compute", "cloud"], capacity=20),
            partner("vaultco", ["storage", "backup"], capacity=4),
        )
        await app.start()
        try:
            code, out, err = await _oppbus(settings, "policy", "apply", str(v1), "--note", "v1")
            assert (code, out.strip()) == (0, "routing policy version 1 applied"), err
            await bus.wait_for(lambda: contexts.policy.book.version == 1)
            for i in range(6):
                if i == 3:  # the operator changes the policy; the worker keeps running
                    code, out, err = await _oppbus(settings, "policy", "apply", str(v2))
                    assert code == 0, err
                    await bus.wait_for(lambda: contexts.policy.book.version == 2)
                await bus.publish(opportunity("netco", f"opp-{i}"))
                await bus.wait_for(lambda i=i: bus.of(OfferMade, opportunity_id=f"opp-{i}"))
                await bus.wait_for(_settled(bus, contexts))
        finally:
            await app.stop()

    offers = sorted(bus.of(OfferMade), key=lambda o: o.opportunity_id)
    assert [o.policy_version for o in offers] == [1, 1, 1, 2, 2, 2]
    assert "bigstore" not in {o.partner_id for o in offers[3:]}  # fit first: no generalist

    code, out, err = await _oppbus(settings, "policy", "show", "--json")
    shown = orjson.loads(out)
    assert code == 0 and shown["version"] == 2 and shown["weights"]["fit"] == 4.0
    assert shown["versions"] == [1, 2]

    before = await _end_offsets(settings)
    bad = tmp_path / "bad.toml"
    bad.write_text("lod = 3.0\n")
    code, out, err = await _oppbus(settings, "policy", "apply", str(bad))
    assert code == 2 and "unknown policy name(s): lod" in err

    report_path = tmp_path / "report.html"
    code, out, err = await _oppbus(
        settings, "replay", "--policy", str(v2), "--json", "--report", str(report_path)
    )
    assert code == 0, err
    report: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    assert "replaying" in err  # the progress bar, on stderr
    assert report["replayed"] == 6
    assert report["policies_in_force"] == {"1": 3, "2": 3}
    rep = report["reproduction"]
    assert rep["compared"] == 6 and rep["reproduced"] == 6, rep
    # under version 2 the candidate (version 2's document) changes nothing
    assert report["first_choices_changed"] <= 3
    assert report["by_need"]["storage"]["replayed"] == 6
    assert report_path.read_text().count("<svg") >= 5

    assert await _end_offsets(settings) == before  # the replay and the refused apply wrote nothing


async def test_replay_reads_the_partnerships_of_the_time(
    settings: Settings, tmp_path: Path
) -> None:
    """Two opportunities are routed before netco and vaultco agree a partnership, two after
    (vaultco then comes first for its partnership, where bigstore and storeco would have):
    ``oppbus replay`` reads the partnerships topic, so it reproduces all four first choices, and
    a candidate without the partnership weight changes exactly the two ranked with it."""
    no_partnership = tmp_path / "no-partnership.toml"
    no_partnership.write_text("partnership = 0.0\n")
    await ensure_topics(settings)
    app = create_app(settings)
    contexts = register_all(app, settings)
    async with Bus(settings) as bus:
        await bus.publish(
            partner("netco", ["networking"]),
            partner("storeco", ["storage"], capacity=2),
            partner("bigstore", ["storage", "backup", "compute", "cloud"], capacity=20),
            partner("vaultco", ["storage", "backup"], capacity=4),
        )
        await app.start()
        try:
            for i in range(4):
                if i == 2:
                    await bus.publish(
                        active_partnership("netco", "vaultco", "ps_000000000000000000b1")
                    )
                    await bus.wait_for(
                        lambda: contexts.partnerships.book.active_partners("netco") == {"vaultco"}
                    )
                await bus.publish(opportunity("netco", f"opp-{i}"))
                await bus.wait_for(lambda i=i: bus.of(OfferMade, opportunity_id=f"opp-{i}"))
                await bus.wait_for(_settled(bus, contexts))
        finally:
            await app.stop()

    offers = sorted(bus.of(OfferMade), key=lambda o: o.opportunity_id)
    assert [o.partner_id for o in offers[2:]] == ["vaultco", "vaultco"]
    for i, offer in enumerate(offers):  # the reason on the offers made after the agreement
        reason = {r.factor: r for r in offer.reasons}["partnership"]
        assert reason.value == (1.0 if i >= 2 else 0.0)

    code, out, err = await _oppbus(settings, "replay", "--policy", str(no_partnership), "--json")
    assert code == 0, err
    report: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    assert report["replayed"] == 4
    rep = report["reproduction"]
    assert rep["compared"] == 4 and rep["reproduced"] == 4, rep
    assert report["first_choices_changed"] == 2
    assert report["spread"]["busiest_before"]["vaultco"] >= 2
    assert report["spread"]["busiest_after"].get("vaultco", 0) <= 1
