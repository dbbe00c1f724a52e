"""The embedded broker's growth warning: share of the room used, and time left at today's rate."""

from __future__ import annotations

from ops.broker_growth import GrowthWatch, Sample, warning

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
    sizes = iter([(9 * GB, 1 * GB)] * 25)
    clock = iter(range(0, 10_000, 30))
    watch = GrowthWatch(lambda: next(sizes), "memory", print, clock=lambda: float(next(clock)))
    said = [watch.check() for _ in range(25)]
    assert [i for i, m in enumerate(said) if m] == [0, 11, 22]


def test_a_sample_that_fails_is_skipped() -> None:
    def gone() -> tuple[int, int]:
        raise ProcessLookupError("no such process")

    watch = GrowthWatch(gone, "memory", print, clock=lambda: 0.0)
    assert watch.check() is None and watch.samples == []
