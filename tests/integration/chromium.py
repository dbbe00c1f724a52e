"""Headless Chromium for page tests: DOM dump, screenshot, and a small PNG reader to check it.

Debian's ``chromium`` package; ``.ci/run`` installs it. On CI (``CI=true``) a missing browser fails
the test; on a developer machine without it the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed on CI (.ci/run installs Debian's chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _run(args: list[str], tmp: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[bytes]:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    argv = [chromium_binary(), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, timeout=timeout, check=False)


def dump_dom(url: str, tmp: Path, budget_ms: int = 4000) -> str:
    """The page's DOM after its scripts ran (virtual time lets fetches and timers complete)."""
    result = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", url], tmp)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def screenshot(url: str, tmp: Path, size: tuple[int, int] = (1280, 1000)) -> Path:
    out = tmp / "status.png"
    result = _run(
        [
            f"--window-size={size[0]},{size[1]}",
            "--virtual-time-budget=4000",
            f"--screenshot={out}",
            url,
        ],
        tmp,
    )
    assert out.is_file(), result.stderr.decode(errors="replace")[-2000:]
    return out


def png_pixels(path: Path) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """Width, height and a colour histogram of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), f"unsupported PNG (depth {depth}, color {color})"
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours: Counter[tuple[int, int, int]] = Counter()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        for x in range(0, stride, bpp * 2):  # every other pixel is plenty for a histogram
            colours[(line[x], line[x + 1], line[x + 2])] += 1
        prev = line
    return width, height, colours


def hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))


def near(colours: Counter[tuple[int, int, int]], target: str, tolerance: int = 6) -> int:
    """How many sampled pixels are within ``tolerance`` of the ``#rrggbb`` colour."""
    t = hex_rgb(target)
    return sum(
        n for c, n in colours.items() if all(abs(c[i] - t[i]) <= tolerance for i in range(3))
    )
