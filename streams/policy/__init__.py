"""The routing policy as versioned data: parse and check a policy document, fold the versions.

- :func:`weights_from_mapping` / :func:`parse_toml` — a policy document (the names of
  :class:`streams.routing.Weights`) to ``Weights``; unknown names and bad values are a
  :class:`PolicyError` naming them.
- :func:`to_toml` / :func:`weights_to_mapping` — the other way round (``oppbus policy show``).
- :class:`PolicyBook` — the versions seen so far; the highest valid one is in force.
"""

from streams.policy.book import DEFAULT_POLICY, PolicyBook, PolicyInForce, ranked_weights
from streams.policy.document import (
    POLICY_NAMES,
    PolicyError,
    parse_toml,
    to_toml,
    weights_from_mapping,
    weights_to_mapping,
)

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_NAMES",
    "PolicyBook",
    "PolicyError",
    "PolicyInForce",
    "parse_toml",
    "ranked_weights",
    "to_toml",
    "weights_from_mapping",
    "weights_to_mapping",
]
