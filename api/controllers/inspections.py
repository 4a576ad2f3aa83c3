"""Fair inspections: a coordinator's re-inspection sample and re-grades; staff reports of the
disagreement rate per inspector and of the anomaly flags (issue 19, 2(b) and 2(c))."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_day, report_fields
from api.deps import PeriodDep, PrincipalDep, ServicesDep
from api.params import OptionalDay, PathId
from api.schemas import (
    DisagreementReport,
    InspectionFlagsReport,
    ReinspectionDecided,
    ReinspectionGradeIn,
    ReinspectionSample,
)
from api.security import ADMIN_ONLY, requires
from ledger.domain.access import Role
from ledger.domain.rules import Grade
from ledger.services.inspection_flags import inspection_flags
from ledger.services.reinspections import disagreement_report


class ReinspectionController(Controller):
    path = "/api/v1/reinspections"
    tags = ["coordination"]
    guards = [requires(Role.COORDINATOR)]

    @get("/", operation_id="ReinspectionSample")
    async def sample(
        self, principal: PrincipalDep, services: ServicesDep, day: OptionalDay = None
    ) -> ReinspectionSample:
        """The caller's sample of the gradings with a photo made on `day` (a closed local day;
        yesterday by default): 1% of each inspector's, at least one, at most 20 in all. Drawn
        the first time it is asked for, by a keyed lottery, and stored: every later call gives
        the same sample."""
        chosen = parse_day(day, "day") if day else None
        return await services.reinspections.sample(principal, chosen)

    @post("/{reinspection_id:int}/grade", operation_id="Regrade", status_code=HTTP_200_OK)
    async def regrade(
        self,
        reinspection_id: PathId,
        data: JSONBody[ReinspectionGradeIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> ReinspectionDecided:
        """The coordinator's grade from the photo, once. A different grade is corrected as an
        upheld appeal corrects one: the old credit reversed, the new grade credited."""
        return await services.reinspections.regrade(
            principal, data.event_id, reinspection_id, Grade(data.grade)
        )


class InspectionReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = ADMIN_ONLY

    @get("/reinspections", operation_id="DisagreementReport")
    async def disagreements(self, report_period: PeriodDep) -> DisagreementReport:
        """Per inspector, for re-inspected gradings made on local days from..to: how many were
        re-graded, how many the coordinator graded differently, and that share."""
        report = await disagreement_report(*report_period)
        return msgspec.convert(report_fields(report), DisagreementReport)

    @get("/inspection-flags", operation_id="InspectionFlags")
    async def flags(self, report_period: PeriodDep) -> InspectionFlagsReport:
        """Inspectors to look at more closely, for gradings of local days from..to: a share of
        "good" far from their peers' (two-proportion z, |z| ≥ 3), a volume far from theirs
        (z-score against the other inspectors, |z| ≥ 3), more than 10 gradings within 60 s, a
        household graded on 20 or more days of a month all by one inspector. Read-only: flags
        never change points."""
        report = await inspection_flags(*report_period)
        return msgspec.convert(report_fields(report), InspectionFlagsReport)
