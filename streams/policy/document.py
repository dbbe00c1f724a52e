"""A routing policy document: the fields of ``Weights`` by name, checked, as TOML or a mapping.

A document names any of the weights and switches of :class:`streams.routing.weights.Weights`
(the factor weights ``fit`` ... ``partnership`` and ``prior``, ``prior_strength``,
``speed_half_life_s``, ``country_region``, ``unknown``, ``max_ranked``, ``pool``); a name it leaves
out takes the built-in default. Unknown names are refused (a typo must not silently keep a
default), and so are values of the wrong type (``max_ranked`` and ``pool`` are whole numbers,
the rest numbers; booleans are neither) or out of the ranges ``Weights`` checks.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from streams.routing.weights import DEFAULT_WEIGHTS, Weights

__all__ = [
    "INT_NAMES",
    "POLICY_NAMES",
    "PolicyError",
    "parse_toml",
    "to_toml",
    "weights_from_mapping",
    "weights_to_mapping",
]

# Every init field of Weights, in declaration order (``total`` is derived, not a setting).
POLICY_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Weights) if f.init)
INT_NAMES: frozenset[str] = frozenset(
    f.name for f in fields(Weights) if f.init and f.type in ("int", int)
)


class PolicyError(ValueError):
    """A policy document that cannot be used; ``str()`` says which names and why."""


def weights_from_mapping(values: Mapping[str, Any]) -> Weights:
    """The ``Weights`` of a document: the defaults, overridden by every name given."""
    unknown = sorted(set(values) - set(POLICY_NAMES))
    if unknown:
        raise PolicyError(
            f"unknown policy name(s): {', '.join(unknown)} (known names: {', '.join(POLICY_NAMES)})"
        )
    checked: dict[str, float | int] = {}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(f"{name}: must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise PolicyError(f"{name}: must be a finite number")
        if name in INT_NAMES:
            if value != int(value):
                raise PolicyError(f"{name}: must be a whole number, got {value}")
            checked[name] = int(value)
        else:
            checked[name] = float(value)
    settings: dict[str, Any] = {**weights_to_mapping(DEFAULT_WEIGHTS), **checked}
    try:
        return Weights(**settings)
    except ValueError as exc:
        raise PolicyError(str(exc)) from exc


def weights_to_mapping(weights: Weights) -> dict[str, float | int]:
    """Every setting of ``weights`` by name, in declaration order."""
    values = asdict(weights)
    return {name: values[name] for name in POLICY_NAMES}


def parse_toml(text: str) -> Weights:
    """A TOML policy document (top-level ``name = value`` lines) as ``Weights``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from exc
    tables = sorted(k for k, v in raw.items() if isinstance(v, dict))
    if tables:
        raise PolicyError(f"tables are not policy names: [{'], ['.join(tables)}]")
    return weights_from_mapping(raw)


def to_toml(weights: Weights, *, header: str = "") -> str:
    """A TOML document of every setting (what ``parse_toml`` reads back to the same weights)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, value in weights_to_mapping(weights).items():
        lines.append(f"{name} = {value!r}")
    return "\n".join(lines) + "\n"
