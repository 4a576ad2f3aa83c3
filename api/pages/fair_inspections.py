"""Fair inspections as pages: a coordinator's re-inspection sample, graded from the photos
(the same `Reinspections` service as `/api/v1/reinspections`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_day
from api.deps import PrincipalDep, ServicesDep
from api.pages import forms
from api.pages.web import new_event_id, render
from api.params import OptionalDay, PathId
from api.security import requires
from ledger.domain.access import Role
from ledger.domain.rules import Grade

REINSPECTORS = [requires(Role.COORDINATOR)]
BACK = "/coordinator/reinspections"


@get(BACK, guards=REINSPECTORS, include_in_schema=False)
async def reinspection_sample(
    principal: PrincipalDep, services: ServicesDep, day: OptionalDay = None
) -> Response[Any]:
    """The sample of yesterday's gradings (or `?day=`), each with its photo and a grade form.
    The inspector's grade is shown only once the coordinator has graded (a blind re-grade)."""
    sample = await services.reinspections.sample(principal, parse_day(day, "day") if day else None)
    return render(
        "reinspections.html",
        me=principal,
        sample=sample,
        grades=[g.value for g in Grade],
        event_ids={item.reinspection_id: new_event_id() for item in sample.items},
    )


@post(
    "/coordinator/reinspections/{reinspection_id:int}",
    guards=REINSPECTORS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def regrade(
    reinspection_id: PathId,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The same `Reinspections.regrade` as `POST /api/v1/reinspections/{id}/grade`."""
    form = await forms.read(request)
    grade = Grade(forms.choice(form, "grade", [g.value for g in Grade]))
    result = await services.reinspections.regrade(
        principal, forms.required(form, "event_id", 64), reinspection_id, grade
    )
    return render("done.html", me=principal, what="reinspection", result=result, back=BACK)


FAIR_INSPECTION_HANDLERS = [reinspection_sample, regrade]
