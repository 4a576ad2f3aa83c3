"""The books for subdistrict staff: what the scheme owes per month, with charts, the CSV, and
each reward's unit cost and reorder threshold set in place (the same `Books` service as
`POST /api/v1/rewards/{id}/costs` and `/reorder-threshold`)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from api import charts
from api.dates import parse_day
from api.deps import AskedPeriodDep, Period, PeriodDep, PrincipalDep, ServicesDep
from api.pages import filters, forms
from api.pages.i18n import _
from api.pages.web import new_event_id, render
from api.params import PathId
from api.security import ADMIN_ONLY
from ledger.domain.books import THRESHOLD_MAX, fen_of_yuan
from ledger.domain.errors import InvalidInput
from ledger.domain.localtime import local_day
from ledger.services import books

BOOKS_DAYS_DEFAULT = 180


@get("/staff/books", guards=ADMIN_ONLY, include_in_schema=False)
async def books_page(
    principal: PrincipalDep, services: ServicesDep, asked_period: AskedPeriodDep
) -> Response[Any]:
    """The liability report for a community and period (default: about six months, from the
    first day of a month), with its charts and a form per reward for cost and threshold."""
    now = services.clock.now()
    choice = await filters.choice(services, asked_period, local_day(now), _half_year_to)
    context = choice.context() | {"me": principal}
    if (period := choice.period) is not None:
        report = await books.liability_report(*period, now)
        context["report"] = report
        context["event_ids"] = {row.reward_id: new_event_id() for row in report.reward_stock}
    return render("staff_books.html", **context)


@post("/staff/books/rewards/{reward_id:int}", guards=ADMIN_ONLY, include_in_schema=False)
async def set_reward_terms(
    reward_id: PathId,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Redirect:
    """A new unit cost (in yuan, from now) and/or reorder threshold, then back to the books.
    The form's one event id names both writes (`…:cost`, `…:threshold`), so a resend replays
    them."""
    form = await forms.read(request)
    event_id = forms.required(form, "event_id", 64)
    community_id = forms.integer(form, "community_id")
    cost = forms.text(form, "cost_yuan", 20)
    threshold = forms.text(form, "threshold", 20)
    if not cost and not threshold:
        raise InvalidInput("cost_yuan", "give a cost, a threshold or both")
    if cost:
        fen = fen_of_yuan(cost)
        await services.books.set_cost(principal, f"{event_id}:cost", community_id, reward_id, fen)
    if threshold:
        number = forms.whole_number(threshold, "threshold", 0, THRESHOLD_MAX)
        await services.books.set_threshold(
            principal, f"{event_id}:threshold", community_id, reward_id, number
        )
    query = {"community_id": community_id}
    for name in ("from", "to"):
        value = forms.text(form, name, 10)
        if value:
            query[name] = parse_day(value, name).isoformat()  # type: ignore[assignment]
    return Redirect(f"/staff/books?{urlencode(query)}#stock", status_code=HTTP_303_SEE_OTHER)


@get("/staff/books/charts/flows.svg", guards=ADMIN_ONLY, include_in_schema=False)
async def flows_chart(services: ServicesDep, report_period: PeriodDep) -> Response[str]:
    svg = await books_chart_svg("flows.svg", report_period, services.clock.now())
    return Response(svg, media_type="image/svg+xml")


@get("/staff/books/charts/owed.svg", guards=ADMIN_ONLY, include_in_schema=False)
async def owed_chart(services: ServicesDep, report_period: PeriodDep) -> Response[str]:
    svg = await books_chart_svg("owed.svg", report_period, services.clock.now())
    return Response(svg, media_type="image/svg+xml")


async def books_chart_svg(chart: str, period: Period, now: datetime) -> str:
    """`flows.svg`: points issued, redeemed, paid and expired per month; `owed.svg`: what
    households and volunteers, and merchants, are owed at each month's end. Titles in the
    request's language (also for `GET /api/v1/reports/charts/…`)."""
    report = await books.liability_report(*period, now)
    labels = [month.month for month in report.months]
    if chart == "flows.svg":
        flows = {
            _("Issued"): [m.issued_total for m in report.months],
            _("Redeemed"): [m.redeemed for m in report.months],
            _("Paid to shops"): [m.paid_to_merchants for m in report.months],
            _("Expired"): [m.expired for m in report.months],
        }
        title = _("Points by month: issued and used")
        return await asyncio.to_thread(charts.months_svg, "bar", title, labels, flows)
    owed = {
        _("Outstanding"): [m.outstanding for m in report.months],
        _("Shops unsettled"): [m.merchants_unsettled for m in report.months],
    }
    title = _("Points owed at each month's end")
    return await asyncio.to_thread(charts.months_svg, "line", title, labels, owed)


def _half_year_to(last: date) -> date:
    """The books' first day by default: the first of the month about six months before
    `last`."""
    return date.fromordinal(last.toordinal() - BOOKS_DAYS_DEFAULT).replace(day=1)


BOOKS_HANDLERS = [books_page, set_reward_terms, flows_chart, owed_chart]
