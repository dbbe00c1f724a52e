"""The process's resident memory (RSS), for the bench and the worker's ``/metrics``."""

from __future__ import annotations

import os
import resource

__all__ = ["peak_resident_bytes", "resident_bytes"]


def resident_bytes() -> int:
    """Current resident set size in bytes (Linux ``/proc/self/statm``; else the peak)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_resident_bytes()


def peak_resident_bytes() -> int:
    """The peak resident set size in bytes (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
