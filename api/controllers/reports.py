"""Reports per compound and period, as JSON, CSV and SVG charts."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import PathParameter, QueryParameter

from api.dates import parse_day
from api.deps import ServicesDep
from api.downloads import content_disposition
from api.openapi_docs import also_answers
from api.pages.books import books_chart_svg
from api.pages.staff import report_chart_svg
from api.schemas import ID_MAX, CompoundReport, LiabilityReport, VolunteerHoursReport
from api.security import ADMIN_ONLY
from api.spreadsheets import csv_text
from ledger.services import books, reports
from ledger.services.volunteers import hours_by_party

CommunityId = Annotated[int, QueryParameter(ge=1, le=ID_MAX)]
From = Annotated[str, QueryParameter(name="from", pattern=r"^\d{4}-\d{2}-\d{2}$")]
To = Annotated[str, QueryParameter(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Format = Annotated[str | None, QueryParameter(pattern=r"^(json|csv)$")]


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = ADMIN_ONLY

    @get("/compounds", operation_id="CompoundReport", operation_class=also_answers("text/csv"))
    async def compounds(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        community_id: CommunityId,
        from_: From,
        to: To,
        format: Format = None,
    ) -> Response[Any]:
        """Per compound for local days from..to: households, participation, grades, accuracy,
        points issued / redeemed / expired / outstanding, volunteer minutes; reward stock.
        `?format=csv` or `Accept: text/csv` for a spreadsheet."""
        report = await reports.compound_report(
            community_id, parse_day(from_, "from"), parse_day(to, "to")
        )
        if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
            stem = f"{report.first_day.isoformat()}_{report.last_day.isoformat()}.csv"
            disposition = content_disposition(
                f"compound-report-community-{community_id}_{stem}",
                f"{report.community}_小区报表_{stem}",
            )
            return Response(
                _csv(msgspec.to_builtins(report.rows)),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": disposition},
            )
        return Response(_compound_report(report))

    @get(
        "/volunteers", operation_id="VolunteerHoursReport", operation_class=also_answers("text/csv")
    )
    async def volunteers(
        self,
        request: Request[Any, Any, Any],
        community_id: CommunityId,
        from_: From,
        to: To,
        by: Annotated[str, QueryParameter(pattern=r"^(affiliation|branch)$")] = "affiliation",
        format: Format = None,
    ) -> Response[Any]:
        """Approved volunteer hours (scanned and back-filled) for local days from..to, `by`
        affiliation (party members, owners' committee, property company, none) or by party
        branch (party members only), most hours first. `?format=csv` or `Accept: text/csv`."""
        report = await hours_by_party(
            community_id, parse_day(from_, "from"), parse_day(to, "to"), by
        )
        if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
            stem = f"{by}_{report.from_}_{report.to}.csv"
            disposition = content_disposition(
                f"volunteer-hours-community-{community_id}_{stem}",
                f"{report.community}_志愿服务时长_{stem}",
            )
            return Response(
                _csv(msgspec.to_builtins(report.rows)),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": disposition},
            )
        return Response(msgspec.convert(report, VolunteerHoursReport, from_attributes=True))

    @get("/liability", operation_id="LiabilityReport", operation_class=also_answers("text/csv"))
    async def liability(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        community_id: CommunityId,
        from_: From,
        to: To,
        format: Format = None,
    ) -> Response[Any]:
        """The books: per local month of from..to, points issued by source, redeemed, paid to
        merchants, expired and outstanding; the yuan value of what was redeemed (at each
        reward's unit cost then) and an estimate of what is outstanding (`estimate_method`);
        merchants' unsettled points; reward stock with reorder alerts. `?format=csv` or
        `Accept: text/csv` for the months as a spreadsheet."""
        first, last = parse_day(from_, "from"), parse_day(to, "to")
        report = await books.liability_report(community_id, first, last, services.clock.now())
        if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
            stem = f"{first.isoformat()}_{last.isoformat()}.csv"
            disposition = content_disposition(
                f"liability-community-{community_id}_{stem}", f"{report.community}_积分负债_{stem}"
            )
            return Response(
                _csv(msgspec.to_builtins(report.months)),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": disposition},
            )
        return Response(_liability_report(report))

    @get("/charts/{chart:str}", operation_id="ReportChart", media_type="image/svg+xml")
    async def chart(
        self,
        services: ServicesDep,
        chart: Annotated[str, PathParameter(pattern=r"^(trends|compounds|flows|owed)\.svg$")],
        community_id: CommunityId,
        from_: From,
        to: To,
    ) -> Response[str]:
        """`trends`: accuracy and participation per day; `compounds`: compounds side by side;
        `flows`: the books' points per month by use; `owed`: what is owed at each month's end.
        Titles and legend in the request's language (`Accept-Language`, `?lang=`; Chinese by
        default)."""
        first, last = parse_day(from_, "from"), parse_day(to, "to")
        if chart in ("flows.svg", "owed.svg"):
            svg = await books_chart_svg(chart, community_id, first, last, services.clock.now())
        else:
            svg = await report_chart_svg(chart, community_id, first, last)
        return Response(svg, media_type="image/svg+xml")


def _liability_report(report: books.LiabilityReport) -> LiabilityReport:
    fields = msgspec.to_builtins(report)
    fields.pop("community")
    fields["from"] = fields.pop("first_day")
    fields["to"] = fields.pop("last_day")
    return msgspec.convert(fields, LiabilityReport)


def _compound_report(report: reports.CompoundReport) -> CompoundReport:
    """The reply: the report's fields, its days as from/to."""
    fields = msgspec.to_builtins(report)
    fields.pop("community")
    fields["from"] = fields.pop("first_day")
    fields["to"] = fields.pop("last_day")
    return msgspec.convert(fields, CompoundReport)


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return csv_text([])
    header = list(rows[0])
    return csv_text([header, *([row[key] for key in header] for row in rows)])
