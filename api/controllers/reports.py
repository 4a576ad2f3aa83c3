"""Reports per compound and period, as JSON, CSV and SVG charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import PathParameter, QueryParameter

from api.dates import report_fields
from api.deps import Period, PeriodDep, ServicesDep
from api.downloads import csv_download, wants_csv
from api.openapi_docs import also_answers
from api.pages.books import books_chart_svg
from api.pages.staff import report_chart_svg
from api.params import Format
from api.schemas import CompoundReport, LiabilityReport, VolunteerHoursReport
from api.security import ADMIN_ONLY
from api.spreadsheets import csv_text
from ledger.services import books, reports
from ledger.services.volunteers import hours_by_party


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = ADMIN_ONLY

    @get("/compounds", operation_id="CompoundReport", operation_class=also_answers("text/csv"))
    async def compounds(
        self,
        request: Request[Any, Any, Any],
        report_period: PeriodDep,
        format: Format = None,
    ) -> Response[Any]:
        """Per compound for local days from..to: households, participation, grades, accuracy,
        points issued / redeemed / expired / outstanding, volunteer minutes; reward stock.
        `?format=csv` or `Accept: text/csv` for a spreadsheet."""
        report = await reports.compound_report(*report_period)
        if wants_csv(request, format):
            names = ("compound-report", "小区报表")
            return _spreadsheet(report.rows, names, report_period, report.community)
        return Response(msgspec.convert(report_fields(report, "community"), CompoundReport))

    @get(
        "/volunteers", operation_id="VolunteerHoursReport", operation_class=also_answers("text/csv")
    )
    async def volunteers(
        self,
        request: Request[Any, Any, Any],
        report_period: PeriodDep,
        by: Annotated[str, QueryParameter(pattern=r"^(affiliation|branch)$")] = "affiliation",
        format: Format = None,
    ) -> Response[Any]:
        """Approved volunteer hours (scanned and back-filled) for local days from..to, `by`
        affiliation (party members, owners' committee, property company, none) or by party
        branch (party members only), most hours first. `?format=csv` or `Accept: text/csv`."""
        report = await hours_by_party(*report_period, by)
        if wants_csv(request, format):
            names = ("volunteer-hours", "志愿服务时长")
            return _spreadsheet(report.rows, names, report_period, report.community, by)
        return Response(msgspec.convert(report, VolunteerHoursReport, from_attributes=True))

    @get("/liability", operation_id="LiabilityReport", operation_class=also_answers("text/csv"))
    async def liability(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        report_period: PeriodDep,
        format: Format = None,
    ) -> Response[Any]:
        """The books: per local month of from..to, points issued by source, redeemed, paid to
        merchants, expired and outstanding; the yuan value of what was redeemed (at each
        reward's unit cost then) and an estimate of what is outstanding (`estimate_method`);
        merchants' unsettled points; reward stock with reorder alerts. `?format=csv` or
        `Accept: text/csv` for the months as a spreadsheet."""
        report = await books.liability_report(*report_period, services.clock.now())
        if wants_csv(request, format):
            names = ("liability", "积分负债")
            return _spreadsheet(report.months, names, report_period, report.community)
        return Response(msgspec.convert(report_fields(report, "community"), LiabilityReport))

    @get("/charts/{chart:str}", operation_id="ReportChart", media_type="image/svg+xml")
    async def chart(
        self,
        services: ServicesDep,
        chart: Annotated[str, PathParameter(pattern=r"^(trends|compounds|flows|owed)\.svg$")],
        report_period: PeriodDep,
    ) -> Response[str]:
        """`trends`: accuracy and participation per day; `compounds`: compounds side by side;
        `flows`: the books' points per month by use; `owed`: what is owed at each month's end.
        Titles and legend in the request's language (`Accept-Language`, `?lang=`; Chinese by
        default)."""
        if chart in ("flows.svg", "owed.svg"):
            svg = await books_chart_svg(chart, report_period, services.clock.now())
        else:
            svg = await report_chart_svg(chart, report_period)
        return Response(svg, media_type="image/svg+xml")


def _spreadsheet(
    rows: Sequence[Any], names: tuple[str, str], period: Period, community: str, by: str = ""
) -> Response[str]:
    """A report's rows as a CSV file named by its `names` (ASCII, Chinese), for the community,
    ending in `[<by>_]<from>_<to>.csv`."""
    ascii_name, name = names
    stem = f"{f'{by}_' if by else ''}{period.first.isoformat()}_{period.last.isoformat()}.csv"
    return csv_download(
        _csv(msgspec.to_builtins(rows)),
        f"{ascii_name}-community-{period.community_id}_{stem}",
        f"{community}_{name}_{stem}",
    )


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return csv_text([])
    header = list(rows[0])
    return csv_text([header, *([row[key] for key in header] for row in rows)])
