"""Further subcommands (``demo``, ``schemas``, ...): each lands as one entry here.

``register_extra(add)`` is called by the parser builder with ``add(name, help, func) -> parser``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["register_extra"]

Add = Callable[[str, str, Callable[[argparse.Namespace], int]], Any]


def register_extra(add: Add) -> None:
    from ops import schemas_command

    schemas_command.add_arguments(
        add(
            "schemas",
            "Generate or check the contract documents (JSON Schema per event, AsyncAPI 3.0).",
            schemas_command.run,
        )
    )
