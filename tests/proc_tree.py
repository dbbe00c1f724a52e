"""Process-tree checks for tests that must prove nothing is left running (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["alive", "descendants", "open_sockets"]


def alive(pid: int | None) -> bool:
    """True while ``pid`` runs (a zombie counts as dead)."""
    if pid is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found |= {child} | descendants(child)
    return found


def open_sockets() -> set[str]:
    """This process's open sockets (Linux: the ``socket:[inode]`` links of /proc/self/fd)."""
    out = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out
