"""The inspectors' rotation plan (issue 19, 2(a)): coordinators assign inspectors to compounds
by ISO week; an inspector with assignments in a week grades only those compounds that week.

The plan reaches the inspector through their token (`principal_of` puts the weeks a token can
grade in into it), so every change of an inspector's plan revokes their tokens (issue 12's
token versions): their next request signs in again and carries the new plan.
docs/decisions/2026-12-06-inspector-rotation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.domain.access import Principal, Role
from ledger.domain.errors import Forbidden, InvalidInput, NotFound, OutOfScope
from ledger.domain.localtime import local_day
from ledger.domain.rotation import (
    PLAN_WEEKS_AHEAD_MAX,
    ROTATION_WEEKS_MAX_DEFAULT,
    WEEK,
    check_plannable,
    check_rotation,
    check_weeks_max,
    week_label,
    week_of,
)
from ledger.ports import Clock
from ledger.services.sessions import Sessions
from ledger.store import registry as registry_store
from ledger.store import rotation as store
from ledger.store import sessions as sessions_store
from ledger.store import volunteers as volunteers_store
from ledger.store.engine import Database
from ledger.store.rotation import CompoundName, Inspector

# A token knows its inspector's plan from the week before the one it is made in (an offline
# grading may count up to 72 h back) to the week after (a token lives 12 h by default).
TOKEN_WEEKS_BEFORE = 1
TOKEN_WEEKS_AFTER = 1


@dataclass(frozen=True, slots=True)
class AssignmentView:
    inspector_id: int
    inspector: str
    compound_id: int
    compound: str
    week: str  # "2026-W50"
    week_start: date  # its Monday


@dataclass(frozen=True, slots=True)
class AssignmentChanged:
    """What a PUT or DELETE left: `assigned` is the state now, `changed` whether this request
    changed it (a repeat changes nothing and revokes nothing)."""

    inspector_id: int
    compound_id: int
    week: str
    assigned: bool
    changed: bool


@dataclass(frozen=True, slots=True)
class Plan:
    community_id: int
    weeks: list[str]
    weeks_max: int
    inspectors: list[Inspector]
    compounds: list[CompoundName]
    assignments: list[AssignmentView]


@dataclass(frozen=True, slots=True)
class TodaysAssignment:
    """An inspector's scope today: the compounds the plan assigns (`planned`), or, in a week
    without assignments, the compounds they serve as before the plan existed."""

    day: date
    week: str
    planned: bool
    compounds: list[CompoundName]


@dataclass(frozen=True, slots=True)
class RotationPlan:
    """The weeks a token carries: (Monday, compounds) for weeks with assignments."""

    span: tuple[date, date]
    weeks: tuple[tuple[date, frozenset[int]], ...]


async def plan_for_token(user_id: int, now: datetime) -> RotationPlan:
    """In the caller's read: the plan of the weeks a token made now can grade in."""
    current = week_of(local_day(now))
    first, last = current - TOKEN_WEEKS_BEFORE * WEEK, current + TOKEN_WEEKS_AFTER * WEEK
    weeks: dict[date, set[int]] = {}
    for week, compound_id in await store.planned(user_id, first, last):
        weeks.setdefault(week, set()).add(compound_id)
    return RotationPlan(
        (first, last), tuple((week, frozenset(c)) for week, c in sorted(weeks.items()))
    )


class Rotation:
    """Set, remove and read the plan; each change revokes the inspector's tokens."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        sessions: Sessions,
        weeks_max: int = ROTATION_WEEKS_MAX_DEFAULT,
    ):
        self.db, self.clock, self.sessions = db, clock, sessions
        self.weeks_max = check_weeks_max(weeks_max)

    async def assign(
        self, actor: Principal, inspector_id: int, compound_id: int, week: date
    ) -> AssignmentChanged:
        """Idempotent: assigning what is assigned changes nothing. Refused (409
        `rotation_exceeded`) if it would make more than `weeks_max` weeks running."""
        check_plannable(week, local_day(self.clock.now()))
        async with self.db.write():
            person, compound = await self._checked(actor, inspector_id, compound_id)
            await store.lock_inspector(inspector_id)
            if await store.exists(inspector_id, compound_id, week):
                return AssignmentChanged(inspector_id, compound_id, week_label(week), True, False)
            weeks = await store.weeks_on(inspector_id, compound_id)
            check_rotation(person.username, compound, weeks, week, self.weeks_max)
            await store.add(inspector_id, compound_id, week, actor.username, self.clock.now())
            await sessions_store.revoke_all(inspector_id)
        await self.sessions.published(inspector_id)
        return AssignmentChanged(inspector_id, compound_id, week_label(week), True, True)

    async def unassign(
        self, actor: Principal, inspector_id: int, compound_id: int, week: date
    ) -> AssignmentChanged:
        """Idempotent: removing what is not assigned changes nothing."""
        check_plannable(week, local_day(self.clock.now()))
        async with self.db.write():
            await self._checked(actor, inspector_id, compound_id)
            await store.lock_inspector(inspector_id)
            if not await store.exists(inspector_id, compound_id, week):
                return AssignmentChanged(inspector_id, compound_id, week_label(week), False, False)
            await store.remove(inspector_id, compound_id, week)
            await sessions_store.revoke_all(inspector_id)
        await self.sessions.published(inspector_id)
        return AssignmentChanged(inspector_id, compound_id, week_label(week), False, True)

    async def plan(self, actor: Principal, community_id: int, first: date, weeks: int) -> Plan:
        """A community's plan for `weeks` weeks from the week of `first`."""
        if not 1 <= weeks <= PLAN_WEEKS_AHEAD_MAX:
            raise InvalidInput("weeks", f"must be 1..{PLAN_WEEKS_AHEAD_MAX}")
        start = week_of(first)
        mondays = [start + n * WEEK for n in range(weeks)]
        async with self.db.read():
            await _check_community(actor, community_id)
            rows = await store.of_community(community_id, mondays[0], mondays[-1])
            inspectors = await store.inspectors_of(community_id)
            compounds = await store.compounds_in(community_id)
        listed = {i.id for i in inspectors}
        for row in rows:  # someone planned here who no longer serves the community
            if row.inspector_id not in listed:
                listed.add(row.inspector_id)
                inspectors.append(Inspector(row.inspector_id, row.inspector, "", True))
        return Plan(
            community_id,
            [week_label(m) for m in mondays],
            self.weeks_max,
            inspectors,
            compounds,
            [_view(row) for row in rows],
        )

    async def today(self, actor: Principal) -> TodaysAssignment:
        """The inspector's scope today, as their current token grades by (read from the
        database, which a revocation makes the token agree with)."""
        if actor.role is not Role.INSPECTOR:
            raise Forbidden("only inspectors have a rotation assignment")
        day = local_day(self.clock.now())
        week = week_of(day)
        async with self.db.read():
            assigned = frozenset(c for w, c in await store.planned(actor.user_id, week, week))
            planned = bool(assigned)
            names = await store.compound_names(assigned if planned else actor.compound_ids)
        compounds = [CompoundName(i, names[i]) for i in sorted(names)]
        return TodaysAssignment(day, week_label(week), planned, compounds)

    async def _checked(
        self, actor: Principal, inspector_id: int, compound_id: int
    ) -> tuple[Inspector, str]:
        """The inspector (an active inspector's account) and the compound's name; the compound
        in a community the coordinator serves, the inspector serving that community or none."""
        community_id = await registry_store.community_of_compound(compound_id)
        if community_id is None:
            raise NotFound("compound", compound_id)
        found = await store.inspector(inspector_id)
        if found is None or found[1] != Role.INSPECTOR.value:
            raise NotFound("inspector", inspector_id)
        person = found[0]
        if not person.active:
            raise InvalidInput("inspector_id", f"{person.username} is deactivated")
        await _check_community(actor, community_id)
        served = await store.communities_of_inspector(inspector_id)
        if served and community_id not in served:
            raise OutOfScope(
                f"{person.username} serves another community; assign them there",
                inspector=person.username,
            )
        names = await store.compound_names(frozenset({compound_id}))
        return person, names[compound_id]


async def _check_community(actor: Principal, community_id: int) -> None:
    if actor.role is Role.ADMIN:
        if await registry_store.community_name(community_id) is None:
            raise NotFound("community", community_id)
        return
    if actor.role is not Role.COORDINATOR:
        raise Forbidden("only coordinators plan the rotation")
    if community_id not in await volunteers_store.communities_of(actor.compound_ids):
        raise OutOfScope("this community is not one you coordinate")


def _view(row: store.Assignment) -> AssignmentView:
    return AssignmentView(
        row.inspector_id,
        row.inspector,
        row.compound_id,
        row.compound,
        week_label(row.week),
        row.week,
    )
