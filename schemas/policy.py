"""The routing policy as data: every weight and switch of the ranking, versioned on the log.

A :class:`RoutingPolicy` record is one version of the policy (``routing-policy`` topic, keyed by
its version number, so compaction keeps every version for replays). ``weights`` names the fields
of the routing core's ``Weights`` (``streams/routing/weights.py``): the factor weights (``fit``,
``certification``, ``region``, ``industry``, ``acceptance``, ``win``, ``speed``, ``load``,
``reciprocity``, ``partnership``) and the switches (``prior``, ``prior_strength``,
``speed_half_life_s``, ``country_region``, ``unknown``, ``max_ranked``, ``pool``). The routing
core checks the names and the values; a record it cannot use is ignored by the workers, which keep
the version in force. A name a record leaves out (an earlier version) takes the default.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from schemas.common import Contract, UtcDatetime

__all__ = ["PolicyName", "RoutingPolicy", "policy_key"]

PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class RoutingPolicy(Contract):
    """One version of the routing policy, applied by an operator (``oppbus policy apply``)."""

    version: int = Field(strict=True, ge=1, le=1_000_000_000, description="1, 2, ... per apply")
    weights: dict[PolicyName, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        max_length=64,
        description="every weight and switch of the ranking by its name (see the module doc)",
    )
    applied_at: UtcDatetime
    applied_by: str = Field(default="operator", min_length=1, max_length=80)
    note: str | None = Field(default=None, max_length=500)


def policy_key(version: int) -> bytes:
    """The record key of a version: its number, so a compacted topic keeps every version."""
    return str(version).encode()
