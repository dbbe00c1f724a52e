"""The versions of the routing policy seen so far, and the one in force (the highest valid one).

Fed with ``RoutingPolicy`` events in any order (a whole-topic view reads partitions
independently): a version lower than the one in force changes nothing, an equal one replaces it, and a record whose weights
the routing core refuses is counted and ignored (the version in force stays). Version 0 is the
built-in defaults, in force until an operator applies version 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from schemas.policy import RoutingPolicy
from streams.policy.document import PolicyError, weights_from_mapping
from streams.routing.weights import DEFAULT_WEIGHTS, Weights

__all__ = ["DEFAULT_POLICY", "PolicyBook", "PolicyInForce", "ranked_weights"]


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """One usable version: its number, weights and when it was applied (None: built in)."""

    version: int
    weights: Weights
    applied_at: datetime | None = None


DEFAULT_POLICY = PolicyInForce(0, DEFAULT_WEIGHTS)


@lru_cache(maxsize=64)
def ranked_weights(weights: Weights, slots: int) -> Weights:
    """The policy's weights ranking ``slots`` candidates: the live ranker asks for the
    opportunity's ``max_partners`` only (a re-offer ranks afresh), and so does the replay."""
    return replace(weights, max_ranked=slots)


class PolicyBook:
    """The policy in force and every usable version by number."""

    def __init__(self) -> None:
        self.current: PolicyInForce = DEFAULT_POLICY
        self.versions: dict[int, PolicyInForce] = {0: DEFAULT_POLICY}
        self.invalid = 0
        self.last_error: str | None = None

    @property
    def version(self) -> int:
        return self.current.version

    @property
    def weights(self) -> Weights:
        return self.current.weights

    def apply(self, event: RoutingPolicy) -> bool:
        """Take a version; ``True`` when it is now the one in force."""
        try:
            weights = weights_from_mapping(event.weights)
        except PolicyError as exc:
            self.invalid += 1
            self.last_error = f"version {event.version}: {exc}"
            return False
        policy = PolicyInForce(event.version, weights, event.applied_at)
        self.versions[event.version] = policy
        if event.version < self.current.version:
            return False
        # an equal version replaces it: two operators who applied at the same moment wrote two
        # records under one key (one partition), and every reader ends with the later one, as
        # compaction does
        self.current = policy
        return True

    def get(self, version: int | None) -> PolicyInForce | None:
        """A version seen so far (``None`` asks for nothing and gets nothing)."""
        return None if version is None else self.versions.get(version)
