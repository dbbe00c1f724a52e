"""The embedded broker's growth warning: share of the room used, and time left at today's rate."""

from __future__ import annotations

import os

from ops.broker_growth import GrowthWatch, Sample, busy, memory_sampler, warning

GB = 1024**3


def test_no_warning_while_there_is_room_and_time() -> None:
    flat = [Sample(0, 1 * GB, 10 * GB), Sample(600, 1 * GB, 10 * GB)]
    assert warning(flat, "memory") is None
    slow = [Sample(0, 1 * GB, 10 * GB), Sample(600, int(1.1 * GB), int(9.9 * GB))]
    assert warning(slow, "memory") is None  # 9.9 GB at 0.1 GB / 10 min: 16 hours


def test_warns_when_the_room_left_lasts_less_than_an_hour() -> None:
    # the soak's figure: 1.9 GB per 10 min, with 4 GB of memory left -> about 21 min
    fast = [Sample(0, 2 * GB, int(5.9 * GB)), Sample(600, int(3.9 * GB), 4 * GB)]
    message = warning(fast, "memory")
    assert message is not None
    assert "1.90 GB per 10 min" in message and "about 21 min" in message


def test_warns_when_the_broker_holds_most_of_what_it_can_use() -> None:
    message = warning([Sample(0, 9 * GB, 1 * GB)], "disk")
    assert message is not None and "90% of the disk" in message


def test_the_watch_repeats_itself_only_every_ten_samples() -> None:
    sizes = iter([(9 * GB, 1 * GB, None)] * 25)
    clock = iter(range(0, 10_000, 30))
    watch = GrowthWatch(lambda: next(sizes), "memory", print, clock=lambda: float(next(clock)))
    said = [watch.check() for _ in range(25)]
    assert [i for i, m in enumerate(said) if m] == [0, 11, 22]


def test_a_sample_that_fails_is_skipped() -> None:
    def gone() -> tuple[int, int, float | None]:
        raise ProcessLookupError("no such process")

    watch = GrowthWatch(gone, "memory", print, clock=lambda: 0.0)
    assert watch.check() is None and watch.samples == []


def test_warns_when_the_broker_keeps_a_core_busy_for_two_minutes() -> None:
    # the soak's saturated broker: 110 % of a core; 30 s samples
    hot = [Sample(30 * i, 2 * GB, 20 * GB, cpu_s=33.0 * i) for i in range(6)]
    message = warning(hot, "memory")
    assert message is not None
    assert "110% of a core for the last 2 min" in message and "holds 2.0 GB" in message


def test_a_busy_minute_or_a_moderate_load_is_not_saturation() -> None:
    short = [Sample(30 * i, GB, 20 * GB, cpu_s=33.0 * i) for i in range(4)]  # 90 s of samples
    assert busy(short) is None
    moderate = [Sample(30 * i, GB, 20 * GB, cpu_s=15.0 * i) for i in range(10)]  # 50 %
    assert busy(moderate) is None
    burst = [Sample(30 * i, GB, 20 * GB, cpu_s=c) for i, c in enumerate([0, 30, 60, 61, 62, 63])]
    assert busy(burst) is None  # a catch-up burst, then quiet: 11 % over the last 2 min
    unknown = [*short, Sample(300, GB, 20 * GB)]  # durable mode without the broker's pid
    assert busy(unknown) is None


def test_the_memory_sampler_reads_this_process() -> None:
    used, room, cpu_s = memory_sampler(os.getpid())()
    assert used > 0 and room > 0
    assert cpu_s is not None and cpu_s > 0
