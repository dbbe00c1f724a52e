"""The state of a team opportunity's roles and the effects of its steps (pure data).

A team opportunity (``team: true``, DESIGN.md "Teaming") keeps, beside its referrals, one
:class:`RoleState` per role: the needs it owns and the referrals offered for it, in order (its
waterfall: the last one is the current holder or the last tried). A role is ``open`` while it is
being filled or held, ``unfilled`` when nobody took it and it could not be re-planned, and
``replaced`` when the one re-plan split its needs into new roles. The team is ``assembling``,
``assembled`` (every open role accepted) or ``incomplete`` (a role is unfilled).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = [
    "Member",
    "RoleState",
    "TeamAssembledFx",
    "TeamEffect",
    "TeamIncompleteFx",
    "TeamPlannedFx",
    "TeamState",
]

RoleStatus = Literal["open", "unfilled", "replaced"]
TeamStatus = Literal["assembling", "assembled", "incomplete"]


@dataclass(frozen=True)
class RoleState:
    needs: tuple[str, ...]
    referrals: tuple[str, ...] = ()  # referral ids offered for this role, in order
    status: RoleStatus = "open"
    reason: str | None = None  # why it is unfilled

    def to_list(self) -> list[Any]:
        return [list(self.needs), list(self.referrals), self.status, self.reason]

    @classmethod
    def from_list(cls, data: list[Any]) -> RoleState:
        needs, referrals, status, reason = data
        return cls(tuple(needs), tuple(referrals), status, reason)


@dataclass(frozen=True)
class TeamState:
    roles: tuple[RoleState, ...] = ()
    status: TeamStatus = "assembling"
    replanned: bool = False  # the one re-plan is used
    told: tuple[Any, ...] = ()  # the team events published so far (replayed on a repeated input)

    def tell(self, effect: TeamEffect) -> TeamState:
        return replace(self, told=(*self.told, _told(effect)))

    def retold(self) -> tuple[TeamEffect, ...]:
        """The team events published so far, the very same again (ids and times)."""
        return tuple(_effect(item) for item in self.told)

    @property
    def live(self) -> tuple[RoleState, ...]:
        """The roles of the team as it stands (not those a re-plan replaced)."""
        return tuple(r for r in self.roles if r.status != "replaced")

    def role_of(self, referral_id: str) -> RoleState | None:
        for role in self.roles:
            if referral_id in role.referrals:
                return role
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "roles": [r.to_list() for r in self.roles],
            "status": self.status,
            "replanned": self.replanned,
            "told": list(self.told),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TeamState:
        return cls(
            roles=tuple(RoleState.from_list(r) for r in data["roles"]),
            status=data["status"],
            replanned=bool(data.get("replanned", False)),
            told=tuple(data.get("told", ())),
        )


# (needs, partner_id, referral_id): one role and who holds (or is offered) it
Member = tuple[tuple[str, ...], str, str]


@dataclass(frozen=True)
class TeamPlannedFx:
    """The team was planned (round 1) or the roles nobody accepted re-planned (round 2)."""

    round: int
    roles: tuple[Member, ...]
    at: float


@dataclass(frozen=True)
class TeamAssembledFx:
    """Every role is accepted: the originator is told, and each member learns the others."""

    members: tuple[Member, ...]
    at: float


@dataclass(frozen=True)
class TeamIncompleteFx:
    """A role nobody accepted could not be re-planned; ``reasons``: (role name, why)."""

    reasons: tuple[tuple[str, str], ...]
    at: float


TeamEffect = TeamPlannedFx | TeamAssembledFx | TeamIncompleteFx


def _members_json(members: tuple[Member, ...]) -> list[Any]:
    return [[list(needs), partner, referral] for needs, partner, referral in members]


def _members_of(data: list[Any]) -> tuple[Member, ...]:
    return tuple((tuple(needs), partner, referral) for needs, partner, referral in data)


def _told(effect: TeamEffect) -> list[Any]:
    """A team event as the row keeps it (JSON-ready)."""
    if isinstance(effect, TeamPlannedFx):
        return ["planned", effect.at, effect.round, _members_json(effect.roles)]
    if isinstance(effect, TeamAssembledFx):
        return ["assembled", effect.at, _members_json(effect.members)]
    return ["incomplete", effect.at, [list(r) for r in effect.reasons]]


def _effect(item: Any) -> TeamEffect:
    kind, at, *rest = item
    if kind == "planned":
        return TeamPlannedFx(int(rest[0]), _members_of(rest[1]), float(at))
    if kind == "assembled":
        return TeamAssembledFx(_members_of(rest[0]), float(at))
    return TeamIncompleteFx(tuple((str(a), str(b)) for a, b in rest[0]), float(at))
