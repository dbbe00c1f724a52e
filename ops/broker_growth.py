"""Warn before the embedded broker fills the machine: it keeps every event, forever.

Tansu 0.6 (the embedded broker) honours neither ``retention.ms``/``retention.bytes`` nor
DeleteRecords (measured: the log start stays 0; DeleteRecords closes the connection), so what the
bus writes stays: in memory mode it is the broker process's memory, in durable mode the data
directory on disk. ``oppbus up`` samples that size every ``SAMPLE_S`` and warns when the machine
is about to run out (``docs/embedded-broker.md`` says what to do).

The same logs make the broker slower as they grow: every fetch that finds new data lists all the
record batches of its partition, so under a sustained load its CPU climbs until the bus falls
behind. The watch also samples the broker's CPU and warns when it has kept a core busy for
``BUSY_SPAN_S`` (measured in the soak bench: 105-125 % of a core once saturated, ~20-50 % before).

:func:`warning` is the pure rule; :class:`GrowthWatch` samples ``/proc`` and the disk.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ops.bench.probes import cpu_seconds

__all__ = [
    "SAMPLE_S",
    "GrowthWatch",
    "Sample",
    "busy",
    "disk_sampler",
    "memory_sampler",
    "warning",
]

SAMPLE_S = 30.0
WARN_SHARE = 0.8  # the broker holds this share of what it can grow into
WARN_HORIZON_S = 3600.0  # at the current growth, the room left lasts less than this
BUSY_SHARE = 0.9  # of one core: the broker's CPU over the last BUSY_SPAN_S that means saturated
BUSY_SPAN_S = 120.0  # long enough that a start-up or a catch-up burst does not count
_GB = 1024**3


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds
    used: int  # bytes the broker holds (RSS, or the data directory)
    room: int  # bytes it can still grow into (available memory, or free disk)
    cpu_s: float | None = None  # the broker's CPU seconds so far (None: not sampled)


def warning(samples: Sequence[Sample], where: str) -> str | None:
    """A warning when the broker is about to exhaust ``where`` ("memory", "disk") or keeps a
    core busy (:func:`busy`), else None."""
    if not samples:
        return None
    return _room(samples, where) or busy(samples)


def busy(samples: Sequence[Sample]) -> str | None:
    """A warning when the broker used at least ``BUSY_SHARE`` of a core over the last
    ``BUSY_SPAN_S`` (judged only once the samples span that long)."""
    if samples[-1].cpu_s is None:
        return None
    cpu = [(s.at, s.cpu_s) for s in samples if s.cpu_s is not None]
    at, cpu_s = cpu[-1]
    old = [(t, c) for t, c in cpu if at - t >= BUSY_SPAN_S]
    if not old:
        return None
    first_at, first_cpu_s = old[-1]  # the latest sample at least BUSY_SPAN_S old
    share = (cpu_s - first_cpu_s) / (at - first_at)
    if share < BUSY_SHARE:
        return None
    return (
        f"the embedded broker has used {share:.0%} of a core for the last "
        f"{(at - first_at) / 60:.0f} min and holds {samples[-1].used / _GB:.1f} GB: every fetch "
        "costs it more as its logs grow, so under a sustained load the bus falls behind"
    )


def _room(samples: Sequence[Sample], where: str) -> str | None:
    last = samples[-1]
    total = last.used + last.room
    if total > 0 and last.used >= WARN_SHARE * total:
        return (
            f"the embedded broker holds {last.used / _GB:.1f} GB, {last.used / total:.0%} of the "
            f"{where} it can use ({last.room / _GB:.1f} GB left)"
        )
    first = samples[0]
    span = last.at - first.at
    growth = last.used - first.used
    if span <= 0 or growth <= 0:
        return None
    rate = growth / span  # bytes per second
    left_s = last.room / rate
    if left_s < WARN_HORIZON_S:
        return (
            f"the embedded broker grows {rate * 600 / _GB:.2f} GB per 10 min and holds "
            f"{last.used / _GB:.1f} GB; the {where} left ({last.room / _GB:.1f} GB) lasts about "
            f"{left_s / 60:.0f} min"
        )
    return None


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


Sampler = Callable[[], tuple[int, int, float | None]]  # used, room, CPU seconds


def memory_sampler(pid: int) -> Sampler:
    return lambda: (_rss(pid), _mem_available(), cpu_seconds(pid))


def disk_sampler(data_dir: Path, pid: int | None = None) -> Sampler:
    """The data directory's size and the free disk; the broker's CPU when its ``pid`` is known."""
    return lambda: (
        _dir_size(data_dir),
        shutil.disk_usage(data_dir).free,
        None if pid is None else cpu_seconds(pid),
    )


class GrowthWatch:
    """Samples the broker's size every ``interval_s`` and calls ``say`` when :func:`warning` does
    (again only when the warning's first words change, at most every ten samples)."""

    def __init__(
        self,
        sample: Sampler,
        where: str,
        say: Callable[[str], None],
        *,
        clock: Callable[[], float],
        interval_s: float = SAMPLE_S,
        window: int = 20,
    ) -> None:
        self.sample, self.where, self.say, self.clock = sample, where, say, clock
        self.interval_s, self.window = interval_s, window
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._quiet = 0
        self._thread = threading.Thread(target=self._run, name="broker-growth", daemon=True)

    def start(self) -> GrowthWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def check(self) -> str | None:
        try:
            used, room, cpu_s = self.sample()
        except OSError:
            return None  # the broker is gone or restarting: nothing to judge
        self.samples = [*self.samples, Sample(self.clock(), used, room, cpu_s)][-self.window :]
        message = warning(self.samples, self.where)
        if message is None or self._quiet > 0:
            self._quiet = max(0, self._quiet - 1)
            return None
        self._quiet = 10
        return message

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            message = self.check()
            if message is not None:
                self.say(
                    f"warning: {message}. It keeps every event (no retention): restart it to "
                    "start empty, or run against Kafka (--broker); see docs/embedded-broker.md"
                )
