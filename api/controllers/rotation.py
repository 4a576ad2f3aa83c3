"""The inspectors' rotation plan (issue 19, 2(a)): coordinators set, list and remove weekly
assignments; an inspector reads today's."""

from __future__ import annotations

from datetime import date
from typing import Annotated, NamedTuple

import msgspec
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_day
from api.deps import PrincipalDep, ServicesDep
from api.params import PathId
from api.schemas import (
    AssignmentChanged,
    PlanCompound,
    PlanInspector,
    RotationPlanReply,
    TodaysAssignmentReply,
)
from api.security import requires
from ledger.domain.access import Role
from ledger.domain.localtime import local_day
from ledger.domain.rotation import PLAN_WEEKS_AHEAD_MAX, parse_week

WeekPath = Annotated[str, PathParameter(max_length=8, description="ISO week, e.g. 2026-W50")]
COORDINATORS = [requires(Role.COORDINATOR, Role.ADMIN)]
ASSIGNMENT = "/rotation/{week:str}/inspectors/{inspector_id:int}/compounds/{compound_id:int}"


class Assignment(NamedTuple):
    """The assignment a path names: an inspector, a compound, the Monday of a week."""

    inspector_id: int
    compound_id: int
    week: date


def provide_assignment(
    principal: PrincipalDep, week: WeekPath, inspector_id: PathId, compound_id: PathId
) -> Assignment:
    """`principal` only orders this after it (api/deps.py `provide_principal`)."""
    del principal
    return Assignment(inspector_id, compound_id, parse_week(week))


AssignmentDep = NamedDependency[Assignment]
ASSIGNMENT_DEPENDENCIES = {"assignment": Provide(provide_assignment, sync_to_thread=False)}


class RotationController(Controller):
    path = "/api/v1"
    tags = ["rotation"]

    @get(
        "/communities/{community_id:int}/rotation",
        operation_id="RotationPlan",
        guards=COORDINATORS,
    )
    async def plan(
        self,
        community_id: PathId,
        principal: PrincipalDep,
        services: ServicesDep,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        weeks: Annotated[int, QueryParameter(ge=1, le=PLAN_WEEKS_AHEAD_MAX)] = 6,
    ) -> RotationPlanReply:
        """A community's plan: its inspectors, compounds and assignments for `weeks` ISO weeks
        from the week of `from` (a date; default today, local time)."""
        first = parse_day(from_, "from") if from_ else local_day(services.clock.now())
        plan = await services.rotation.plan(principal, community_id, first, weeks)
        return RotationPlanReply(
            community_id=plan.community_id,
            weeks=plan.weeks,
            weeks_max=plan.weeks_max,
            inspectors=[
                msgspec.convert(i, PlanInspector, from_attributes=True) for i in plan.inspectors
            ],
            compounds=[
                msgspec.convert(c, PlanCompound, from_attributes=True) for c in plan.compounds
            ],
            items=[a for a in plan.assignments],
        )

    @put(
        ASSIGNMENT,
        operation_id="AssignInspector",
        guards=COORDINATORS,
        status_code=HTTP_200_OK,
        dependencies=ASSIGNMENT_DEPENDENCIES,
    )
    async def assign(
        self, assignment: AssignmentDep, principal: PrincipalDep, services: ServicesDep
    ) -> AssignmentChanged:
        """The inspector grades this compound in this week (idempotent). 409
        `rotation_exceeded` if that makes more weeks running than the rotation allows; every
        change revokes the inspector's tokens, so their next request carries the new plan."""
        return await services.rotation.assign(principal, *assignment)

    @delete(
        ASSIGNMENT,
        operation_id="UnassignInspector",
        guards=COORDINATORS,
        status_code=HTTP_200_OK,
        dependencies=ASSIGNMENT_DEPENDENCIES,
    )
    async def unassign(
        self, assignment: AssignmentDep, principal: PrincipalDep, services: ServicesDep
    ) -> AssignmentChanged:
        """Remove one assignment (idempotent); a week left without assignments gives the
        inspector their standing compounds again."""
        return await services.rotation.unassign(principal, *assignment)

    @get(
        "/inspectors/me/assignment",
        operation_id="MyAssignment",
        guards=[requires(Role.INSPECTOR)],
    )
    async def mine(self, principal: PrincipalDep, services: ServicesDep) -> TodaysAssignmentReply:
        """Today's compounds for the signed-in inspector: the plan's, or (no assignment this
        week) the compounds they serve."""
        today = await services.rotation.today(principal)
        return msgspec.convert(today, TodaysAssignmentReply, from_attributes=True)
