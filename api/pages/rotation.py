"""The coordinator's rotation plan page (issue 19, 2(a)): inspectors × the coming weeks, and a
form to assign or remove one week of one inspector on one compound. The same `Rotation`
service as the JSON API; assigning twice is harmless (the write is idempotent by its key)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.pages import forms
from api.pages.web import render
from api.params import OptionalId
from api.security import requires
from ledger.domain.access import Principal, Role
from ledger.domain.errors import InvalidInput
from ledger.domain.localtime import local_day
from ledger.domain.rotation import parse_week
from ledger.services.rotation import Plan
from ledger.store import volunteers as volunteers_store

COORDINATORS = [requires(Role.COORDINATOR, Role.ADMIN)]
WEEKS_SHOWN = 6


@get("/coordinator/rotation", guards=COORDINATORS, include_in_schema=False)
async def rotation_plan(
    principal: PrincipalDep, services: ServicesDep, community_id: OptionalId = None
) -> Response[Any]:
    """This week and the next five: who grades which compounds."""
    community = community_id or await _community_of(principal)
    plan = await services.rotation.plan(
        principal, community, local_day(services.clock.now()), WEEKS_SHOWN
    )
    return render("rotation.html", me=principal, plan=plan, cells=_cells(plan))


@post(
    "/coordinator/rotation",
    guards=COORDINATORS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def change_rotation(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """Assign or remove one week, then the plan again (a refusal is the errors page)."""
    form = await forms.read(request)
    inspector_id = forms.integer(form, "inspector_id")
    compound_id = forms.integer(form, "compound_id")
    week = parse_week(forms.required(form, "week", 8))
    action = forms.choice(form, "outcome", ["assign", "remove"])
    community_id = forms.integer(form, "community_id")  # read before anything changes
    change = services.rotation.assign if action == "assign" else services.rotation.unassign
    await change(principal, inspector_id, compound_id, week)
    plan = await services.rotation.plan(
        principal, community_id, local_day(services.clock.now()), WEEKS_SHOWN
    )
    return render("rotation.html", me=principal, plan=plan, cells=_cells(plan), changed=action)


async def _community_of(principal: Principal) -> int:
    """A coordinator's community (the first, if they serve several); an admin names one."""
    communities = await volunteers_store.communities_of(principal.compound_ids)
    if not communities:
        raise InvalidInput("community_id", "name the community whose plan to show")
    return min(communities)


def _cells(plan: Plan) -> dict[tuple[int, str], list[str]]:
    """(inspector id, week) → the compounds' names, for the table."""
    cells: dict[tuple[int, str], list[str]] = {}
    for item in plan.assignments:
        cells.setdefault((item.inspector_id, item.week), []).append(item.compound)
    return cells


ROTATION_HANDLERS = [rotation_plan, change_rotation]
