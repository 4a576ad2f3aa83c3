"""Coordinators (shifts, appeals) and subdistrict staff (reports, boards, QR sheets, verify)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.status_codes import HTTP_200_OK

from api import charts
from api.deps import AskedPeriodDep, Period, PeriodDep, PrincipalDep, ServicesDep
from api.pages import filters, forms
from api.pages.i18n import _
from api.pages.web import new_event_id, render
from api.params import PathId
from api.security import ADMIN_ONLY, requires
from ledger.domain.access import Role
from ledger.domain.errors import InvalidInput
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade
from ledger.domain.scan_codes import CodeKind
from ledger.services import reports, views
from ledger.services.inspection_flags import inspection_flags
from ledger.services.reinspections import disagreement_report
from ledger.services.volunteers import REPORT_GROUPINGS, hours_by_party

COORDINATORS = [requires(Role.COORDINATOR, Role.ADMIN)]
LIST_MAX = 100
REPORT_DAYS_DEFAULT = 30


@get("/coordinator", guards=COORDINATORS, include_in_schema=False)
async def coordinator_home(principal: PrincipalDep, services: ServicesDep) -> Response[Any]:
    """Pending shifts to approve in bulk, open appeals to decide, in the caller's compounds."""
    shifts = await services.shifts.page(principal, "pending", None, LIST_MAX)
    appeals = await services.appeals.page(principal, "open", None, LIST_MAX)
    return render(
        "coordinator.html",
        me=principal,
        shifts=await views.shift_details(shifts.items),
        more_shifts=shifts.next_cursor is not None,
        appeals=await views.appeal_details(appeals.items),
        photos=await services.photos.refs_of_inspections(
            [int(a["inspection"]) for a in appeals.items]
        ),
        grades=[g.value for g in Grade],
        event_id=new_event_id(),
        appeal_event_ids={a["id"]: new_event_id() for a in appeals.items},
    )


@post("/coordinator/shifts", guards=COORDINATORS, include_in_schema=False, status_code=HTTP_200_OK)
async def decide_shifts(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """The same all-or-nothing `Shifts.decide` as `POST /api/v1/shifts:decide`."""
    form = await forms.read(request)
    shift_ids = forms.id_list(form, "shift_ids")
    if not shift_ids:
        raise InvalidInput("shift_ids", "tick at least one shift")
    outcome = forms.choice(form, "outcome", ["approve", "decline"])
    result = await services.shifts.decide(
        principal, forms.required(form, "event_id", 64), shift_ids, outcome == "approve"
    )
    return render("done.html", me=principal, what="shifts", result=result, back="/coordinator")


@post(
    "/coordinator/appeals/{appeal_id:int}",
    guards=COORDINATORS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
)
async def decide_appeal(
    appeal_id: PathId,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The same `Appeals.decide` as `POST /api/v1/appeals/{id}/decide`."""
    form = await forms.read(request)
    outcome = forms.choice(form, "outcome", ["upheld", "rejected"])
    new_grade = None
    if outcome == "upheld":
        new_grade = Grade(forms.choice(form, "new_grade", [g.value for g in Grade]))
    result = await services.appeals.decide(
        principal, forms.required(form, "event_id", 64), appeal_id, outcome == "upheld", new_grade
    )
    return render(
        "done.html", me=principal, what="appeal_decision", result=result, back="/coordinator"
    )


def _month_to(last: date) -> date:
    """The report's first day by default: 30 days to `last`."""
    return last - timedelta(days=REPORT_DAYS_DEFAULT - 1)


@get("/staff", guards=ADMIN_ONLY, include_in_schema=False)
async def staff_home(
    principal: PrincipalDep, services: ServicesDep, asked_period: AskedPeriodDep
) -> Response[Any]:
    """The report for a community and period, with its charts, the red/black list and the
    compounds' QR sheets."""
    today = local_day(services.clock.now())
    choice = await filters.choice(services, asked_period, today, _month_to)
    context = choice.context() | {"me": principal, "kinds": [k.value for k in CodeKind]}
    if (period := choice.period) is not None:
        context["report"] = await reports.compound_report(*period)
        context["redblack"] = await services.boards.redblack(period.community_id, today)
        context["volunteer_hours"] = {
            by: await hours_by_party(*period, by) for by in REPORT_GROUPINGS
        }
        context["inspection_flags"] = await inspection_flags(*period)
        context["disagreements"] = await disagreement_report(*period)
    return render("staff.html", **context)


@get("/staff/charts/{chart:str}", guards=ADMIN_ONLY, include_in_schema=False)
async def staff_chart(
    chart: Annotated[str, PathParameter(pattern=r"^(trends|compounds)\.svg$")],
    report_period: PeriodDep,
) -> Response[str]:
    """The report's charts with titles in the page's language (api/charts.py draws them)."""
    svg = await report_chart_svg(chart, report_period)
    return Response(svg, media_type="image/svg+xml")


async def report_chart_svg(chart: str, period: Period) -> str:
    """`trends.svg` or `compounds.svg`, titles and legend in the request's language (also for
    `GET /api/v1/reports/charts/…`)."""
    legend = (_("Accuracy"), _("Participation"))
    if chart == "trends.svg":
        trend = await reports.trends(*period)
        series = dict(zip(legend, (trend.accuracy, trend.participation), strict=True))
        title = _("Accuracy and participation by day, in percent")
        return await asyncio.to_thread(charts.trend_svg, title, trend.days, series)
    report = await reports.compound_report(*period)
    title = _("Compounds: accuracy and participation, in percent")
    rows = msgspec.to_builtins(report.rows)
    return await asyncio.to_thread(charts.compounds_svg, title, legend, rows)


@get("/staff/verify", guards=ADMIN_ONLY, include_in_schema=False)
async def staff_verify(principal: PrincipalDep, services: ServicesDep) -> Response[Any]:
    """The same proof as `greenledger verify`: balances from entries, and the hash chain."""
    return render("verify.html", me=principal, report=await services.verifier.verify())


STAFF_HANDLERS = [
    coordinator_home,
    decide_shifts,
    decide_appeal,
    staff_home,
    staff_chart,
    staff_verify,
]
