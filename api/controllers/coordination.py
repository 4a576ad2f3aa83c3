"""Coordinators and admins: rules, shift approval, back-filled hours, appeals, certificates."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody, QueryParameter
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_day, parse_moment
from api.deps import PrincipalDep, ServicesDep
from api.params import PathId
from api.schemas import (
    AppealDecided,
    AppealDecisionIn,
    AppealIn,
    AppealOpened,
    BackfillIn,
    BulkDecisionIn,
    BulkDecisionReply,
    EventOnly,
    HoursBackfilled,
    Page,
    RulesIn,
    RulesReply,
    ShiftDecided,
    VolunteerHours,
)
from api.security import ADMIN_ONLY, requires
from ledger.domain.access import Role
from ledger.domain.certificates import certificate_number
from ledger.domain.localtime import local_day
from ledger.domain.rules import Grade

COORDINATORS = [requires(Role.COORDINATOR, Role.ADMIN)]


def _shift_decision(step: str, operation_id: str, doc: str | None = None) -> HTTPRouteHandler:
    """`POST /shifts/<id>/<step>`: a coordinator approves or declines one pending shift, the
    same `Shifts.decide` as `/shifts:decide`; the handler is named `step` (its OpenAPI
    summary) and documented by `doc`."""

    async def decide(
        self: Controller,
        shift_id: PathId,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> ShiftDecided:
        approve = step == "approve"
        result = await services.shifts.decide(principal, data.event_id, [shift_id], approve=approve)
        return result.results[0]

    decide.__name__ = decide.__qualname__ = step
    decide.__doc__ = doc
    handler = post(
        f"/shifts/{{shift_id:int}}/{step}",
        operation_id=operation_id,
        guards=COORDINATORS,
        status_code=HTTP_200_OK,
    )
    return handler(decide)


class CoordinationController(Controller):
    path = "/api/v1"
    tags = ["coordination"]

    @put("/communities/{community_id:int}/rules", operation_id="SetRules", guards=ADMIN_ONLY)
    async def set_rules(
        self,
        community_id: PathId,
        data: JSONBody[RulesIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> RulesReply:
        """A new rules version from `effective_from` on; errors name the field (`rules.…`)."""
        effective_from = parse_moment(data.effective_from, "effective_from")
        result = await services.rules.set(
            principal, data.event_id, community_id, effective_from, dict(data.rules)
        )
        return msgspec.convert(result, RulesReply, from_attributes=True)

    @get("/communities/{community_id:int}/rules", operation_id="GetRules", guards=ADMIN_ONLY)
    async def rules(self, community_id: PathId, services: ServicesDep) -> RulesReply:
        current = await services.rules.current(community_id)
        return msgspec.convert(current, RulesReply, from_attributes=True)

    approve = _shift_decision(
        "approve",
        "ApproveShift",
        "Approve a pending shift: points per approved hour go to the volunteer's account.",
    )
    decline = _shift_decision("decline", "DeclineShift")

    @post(
        "/shifts:decide", operation_id="DecideShifts", guards=COORDINATORS, status_code=HTTP_200_OK
    )
    async def decide_many(
        self, data: JSONBody[BulkDecisionIn], principal: PrincipalDep, services: ServicesDep
    ) -> BulkDecisionReply:
        """Approve or decline many pending shifts at once: all of them, or none (409 names the
        first that is not pending)."""
        approve = data.outcome == "approve"
        result = await services.shifts.decide(
            principal, data.event_id, list(data.shift_ids), approve
        )
        return msgspec.convert(result, BulkDecisionReply, from_attributes=True)

    @post("/shifts:backfill", operation_id="BackfillHours", guards=COORDINATORS)
    async def backfill(
        self, data: JSONBody[BackfillIn], principal: PrincipalDep, services: ServicesDep
    ) -> HoursBackfilled:
        """Hours entered by hand, kept as their own class; points only if the rule says so."""
        day = parse_day(data.day, "day")
        return await services.shifts.backfill(
            principal,
            data.event_id,
            volunteer_id=data.volunteer_id,
            compound_id=data.compound_id,
            day=day,
            minutes=data.minutes,
            note=data.note,
        )

    @get("/shifts", operation_id="ListShifts", guards=COORDINATORS)
    async def shifts(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        status: Annotated[
            str, QueryParameter(pattern=r"^(open|pending|approved|declined)$")
        ] = "pending",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> Page:
        """Shifts in the caller's compounds, oldest first; flagged ones were left open."""
        result = await services.shifts.page(principal, status, cursor, limit)
        return Page(items=result.items, next_cursor=result.next_cursor)

    @get(
        "/volunteers/{volunteer_id:int}/hours",
        operation_id="VolunteerHours",
        guards=[requires(Role.VOLUNTEER, Role.COORDINATOR, Role.ADMIN)],
    )
    async def hours(
        self, volunteer_id: PathId, principal: PrincipalDep, services: ServicesDep
    ) -> VolunteerHours:
        """Hours kept forever (scanned and back-filled), pending hours, star level."""
        return await services.shifts.hours(principal, volunteer_id)

    @get(
        "/volunteers/{volunteer_id:int}/certificate",
        operation_id="VolunteerCertificate",
        guards=[requires(Role.VOLUNTEER, Role.COORDINATOR, Role.ADMIN)],
        media_type="text/html",
    )
    async def certificate(
        self, volunteer_id: PathId, principal: PrincipalDep, services: ServicesDep
    ) -> Template:
        """A printable certificate with a number that signs the hours and the date."""
        hours = await services.shifts.hours(principal, volunteer_id)
        return Template(
            template_name="certificate.html", context=await _certificate(services, hours)
        )

    @post(
        "/inspections/{inspection_id:int}/appeal",
        operation_id="AppealGrade",
        guards=[requires(Role.RESIDENT)],
    )
    async def appeal(
        self,
        inspection_id: PathId,
        data: JSONBody[AppealIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> AppealOpened:
        """A household member contests a grade, once, within 7 days (rule)."""
        return await services.appeals.open(principal, data.event_id, inspection_id, data.reason)

    @post(
        "/appeals/{appeal_id:int}/decide",
        operation_id="DecideAppeal",
        guards=COORDINATORS,
        status_code=HTTP_200_OK,
    )
    async def decide_appeal(
        self,
        appeal_id: PathId,
        data: JSONBody[AppealDecisionIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> AppealDecided:
        """Upheld: the old credit is reversed, the new grade credited; rejected: nothing moves."""
        grade = Grade(data.new_grade) if data.new_grade else None
        return await services.appeals.decide(
            principal, data.event_id, appeal_id, data.outcome == "upheld", grade
        )

    @get("/appeals", operation_id="ListAppeals", guards=COORDINATORS)
    async def appeals(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        status: Annotated[str, QueryParameter(pattern=r"^(open|upheld|rejected)$")] = "open",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> Page:
        result = await services.appeals.page(principal, status, cursor, limit)
        return Page(items=result.items, next_cursor=result.next_cursor)


async def _certificate(services: ServicesDep, hours: VolunteerHours) -> dict[str, Any]:
    today = local_day(services.clock.now())
    served = hours.approved_minutes + hours.backfilled_minutes
    key = services.codes.keyring.keys[services.codes.keyring.current_key_id]
    return {
        "name": hours.name,
        "community": "湖墅街道",
        "hours": served // 60,
        "minutes": served % 60,
        "approved_hours": hours.approved_minutes // 60,
        "backfilled_hours": hours.backfilled_minutes // 60,
        "star_level": hours.star_level,
        "number": certificate_number(hours.volunteer_id, served, today, key),
        "issued_on": today.isoformat(),
    }
