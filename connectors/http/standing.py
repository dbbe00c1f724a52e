"""Where an opportunity stands, in one word, and the view its originator (or the operator) reads.

The status comes from its offers first (``won``, ``accepted``, ``offered``, then ``lost``), else
from the latest of its lifecycle notices by their own time — the read model applies the
``opportunities`` and ``referrals`` topics in no causal order, so arrival order would not do:

| notice                                  | status                         |
|-----------------------------------------|--------------------------------|
| ``conflict_flagged`` (not ``holds_claim``) | ``conflict`` (the operator decides) |
| ``conflict_resolved``                   | ``routing`` (route) / ``rejected`` (reject) |
| ``opportunity_waiting``                 | ``waiting``                    |
| ``opportunity_exhausted``               | ``exhausted``                  |
| ``opportunity_unroutable``              | ``unroutable``                 |
| ``reroute_requested``                   | ``routing``                    |
| ``team_incomplete``                     | ``exhausted`` (no role held)   |

A withdrawn opportunity is ``withdrawn`` whatever else happened. A team opportunity's view also
has ``team``: its status (``assembling|assembled|incomplete``) and each role's needs, status
(its current referral's, or ``unfilled``) and, once accepted, the partner holding it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.http.views import OpportunityState, TeamView, Views

__all__ = [
    "STATUSES",
    "latest_notice",
    "notice_time",
    "opportunity_view",
    "routing_status",
    "status_of",
    "team_view",
]

STATUSES = (
    "routing",
    "offered",
    "accepted",
    "won",
    "lost",
    "withdrawn",
    "conflict",
    "waiting",
    "exhausted",
    "unroutable",
    "rejected",
)

_WHEN = {
    "conflict_flagged": "flagged_at",
    "conflict_resolved": "resolved_at",
    "opportunity_waiting": "at",
    "opportunity_exhausted": "at",
    "opportunity_unroutable": "at",
    "reroute_requested": "requested_at",
    "team_incomplete": "at",
}


def _phase(notice: dict[str, Any]) -> str | None:
    kind = notice.get("type")
    if kind == "conflict_flagged":
        return None if notice.get("holds_claim") else "conflict"
    if kind == "conflict_resolved":
        return "routing" if notice.get("decision") == "route" else "rejected"
    return {
        "opportunity_waiting": "waiting",
        "opportunity_exhausted": "exhausted",
        "opportunity_unroutable": "unroutable",
        "reroute_requested": "routing",
        "team_incomplete": "exhausted",
    }.get(str(kind))


def notice_time(notice: dict[str, Any]) -> datetime | None:
    """When a notice happened (its own time field), None for a kind this module does not know."""
    field = _WHEN.get(str(notice.get("type")))
    return None if field is None else datetime.fromisoformat(str(notice[field]))


def latest_notice(state: OpportunityState) -> dict[str, Any] | None:
    """The lifecycle notice that decides the status (the latest by its own time), if any."""
    best: tuple[datetime, int] | None = None
    found = None
    for i, notice in enumerate(state.notices):
        if _phase(notice) is None:
            continue
        when = notice_time(notice)
        assert when is not None
        if best is None or (when, i) >= best:
            best, found = (when, i), notice
    return found


def routing_status(state: OpportunityState, offer_statuses: list[str]) -> str:
    """One word for where an opportunity stands (see the module docstring)."""
    if state.withdrawn is not None:
        return "withdrawn"
    statuses = set(offer_statuses)
    for status in ("won", "accepted", "offered", "lost"):
        if status in statuses:
            return status
    notice = latest_notice(state)
    return (_phase(notice) if notice else None) or "routing"


def status_of(state: OpportunityState, views: Views) -> str:
    offers = [views.referrals[r].status for r in state.referrals if r in views.referrals]
    return routing_status(state, offers)


def opportunity_view(state: OpportunityState, views: Views) -> dict[str, Any]:
    """The originator's view: status, the opportunity, every offer, the notices; and why it
    waits, how it was exhausted, or how its conflict was resolved, when that is where it stands."""
    assert state.opportunity is not None
    offers = [views.referrals[r].as_offer() for r in state.referrals if r in views.referrals]
    status = routing_status(state, [o["status"] for o in offers])
    body: dict[str, Any] = {
        "opportunity_id": state.opportunity_id,
        "originator": state.originator,
        "status": status,
        "published_at": state.opportunity.published_at.isoformat(),
        "opportunity": state.opportunity.model_dump(mode="json"),
        "offers": offers,
        "notices": list(state.notices),
        "conflict": any(
            n.get("type") == "conflict_flagged" and not n.get("holds_claim") for n in state.notices
        ),
    }
    notice = latest_notice(state)
    if status == "waiting" and notice is not None:
        body["waiting"] = {"reasons": notice["reasons"], "until": notice["until"]}
    if status == "exhausted" and notice is not None and notice["type"] == "opportunity_exhausted":
        body["exhausted"] = {k: notice[k] for k in ("offered", "declined", "expired", "rounds")}
    resolved = [n for n in state.notices if n.get("type") == "conflict_resolved"]
    if resolved:
        body["resolution"] = {k: resolved[0][k] for k in ("decision", "reason", "resolved_at")}
    if state.withdrawn is not None:
        body["withdrawn"] = state.withdrawn.model_dump(mode="json")
    if state.team is not None:
        body["team"] = team_view(state.team, views)
    return body


_HELD = frozenset({"accepted", "won", "lost"})


def team_view(team: TeamView, views: Views) -> dict[str, Any]:
    """``{status, roles: [{needs, status, partner_id?}]}``: the partner once it accepted."""
    roles = []
    for role in team.roles:
        current = views.referrals.get(role["referrals"][-1]) if role["referrals"] else None
        status = "unfilled" if role["unfilled"] else (current.status if current else "offered")
        item: dict[str, Any] = {"needs": list(role["needs"]), "status": status}
        if current is not None and status in _HELD:
            item["partner_id"] = current.partner_id
        if role["unfilled"]:
            item["reason"] = role["unfilled"]
        roles.append(item)
    return {"status": team.status, "roles": roles}
