"""What routing reads of the partnerships (pure): the ``partners_only`` consent scope.

The router and the what-if replay both narrow a ``partners_only`` opportunity to the originator's
active partners with :func:`partners_only_scope`, and pass the same partners to ``route()`` for
the ``partnership`` ranking factor.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.opportunity import Opportunity

__all__ = ["partners_only_scope"]


def partners_only_scope(
    opp: Opportunity, partners_of: Callable[[str], frozenset[str]]
) -> Opportunity:
    """``opp`` with its consent scope narrowed to the originator's active partners, when it is
    ``partners_only`` (nobody outside that scope is eligible: ``outside_consent``)."""
    if not opp.partners_only:
        return opp
    allowed = partners_of(opp.originator)
    if opp.share_with is not None:
        allowed = allowed & frozenset(opp.share_with)
    return opp.model_copy(update={"share_with": tuple(sorted(allowed))})
