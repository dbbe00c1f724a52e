"""The lone-member watchdog's remedy on the real broker: leave the group and join it again.

What puts a worker in the state the watchdog looks for (alone in its group, some input partitions
assigned to a member that is gone) is a race of the broker's group coordinator that we cannot
produce on demand; the rule is unit-tested (``tests/unit/test_lone_member.py``). Here the remedy
itself runs inside a live worker: it must come back as a new member of a new generation, own
every input partition again, and lose nothing that was published around it.
"""

from __future__ import annotations

import pytest

from streams.runtime import group_coordinator
from streams.runtime.app import create_app
from streams.runtime.lone_member import rejoin_as_new_member
from streams.settings import Settings
from tests.integration.polling import until

pytestmark = pytest.mark.kafka


async def test_a_worker_that_rejoins_as_a_new_member_owns_every_input_partition_again(
    settings: Settings,
) -> None:
    app = create_app(settings)
    source = app.topic(settings.topic("lone-in"), partitions=2)
    received: set[bytes] = set()

    @app.agent(source)
    async def collect(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            received.add(value)

    inputs = {(settings.topic("lone-in"), 0), (settings.topic("lone-in"), 1)}

    def owned() -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in app.consumer.assignment()} & inputs

    await app.start()
    try:
        assert await until(lambda: owned() == inputs and app.consumer.flow_active)
        for i in range(50):
            await source.send(key=str(i).encode(), value=f"before-{i}".encode())
        assert await until(lambda: len(received) >= 50)
        coordinator = group_coordinator(app)
        member, generation = coordinator.member_id, coordinator.generation

        await rejoin_as_new_member(app)
        for i in range(50):
            await source.send(key=str(i).encode(), value=f"after-{i}".encode())

        assert await until(
            lambda: (
                coordinator.member_id not in ("", member)
                and coordinator.generation != generation
                and owned() == inputs
                and not app.rebalancing
            )
        ), (member, coordinator.member_id, generation, coordinator.generation, owned())
        assert await until(lambda: len(received) >= 100)
    finally:
        await app.stop()
    expected = {f"{when}-{i}".encode() for when in ("before", "after") for i in range(50)}
    assert received == expected
