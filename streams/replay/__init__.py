"""What-if replay of the bus's history against a candidate routing policy (pure, no I/O).

- :class:`Replay` — fed the history in event order, routes each opportunity with the policy then
  in force and with the candidate, and reports what changes (:meth:`Replay.report`).
- :func:`recorded_routing` — what live routing published for each opportunity (the replay checks
  itself against it).
- :mod:`streams.replay.measures` — Gini, spread of offers, expected acceptances and wins.
"""

from streams.replay.core import DIFFERENCE_REASONS, Replay
from streams.replay.measures import Outcomes, expected, gini, spread
from streams.replay.recorded import Recorded, recorded_routing

__all__ = [
    "DIFFERENCE_REASONS",
    "Outcomes",
    "Recorded",
    "Replay",
    "expected",
    "gini",
    "recorded_routing",
    "spread",
]
