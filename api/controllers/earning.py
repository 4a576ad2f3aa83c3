"""Scans that earn points, one at a time or in offline batches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.dates import parse_captured_at
from api.deps import PrincipalDep, ServicesDep
from api.errors import STATUS_BY_CODE, error_body
from api.limits import events_within_limit
from api.schemas import (
    BatchIn,
    BatchReply,
    BatchResult,
    CheckOutReply,
    DropoffIn,
    DropoffRecorded,
    Graded,
    InspectionIn,
    ShiftScanIn,
    ShiftStarted,
    WeighinIn,
    WeighinRecorded,
)
from api.security import requires
from ledger import metrics
from ledger.domain.access import Principal, Role
from ledger.domain.errors import LedgerError
from ledger.domain.rules import Grade, Material, Stream
from ledger.services.container import Services
from ledger.services.grading import Grading

Handler = Callable[[Services, Principal, Any], Awaitable[Any]]


async def _inspect(services: Services, principal: Principal, data: InspectionIn) -> Graded:
    return await services.gradings.inspect(principal, _grading(data))


def _grading(body: InspectionIn) -> Grading:
    """The grading a request names (its `captured_at` checked: a 400 names it)."""
    return Grading(
        event_id=body.event_id,
        household_token=body.household_token,
        point_token=body.point_token,
        stream=Stream(body.stream),
        grade=Grade(body.grade),
        reasons=list(body.reasons),
        photo_ref=body.photo_ref,
        captured_at=parse_captured_at(body.captured_at),
        dropoff_id=body.dropoff_id,
    )


async def _dropoff(services: Services, principal: Principal, data: DropoffIn) -> DropoffRecorded:
    return await services.scans.dropoff(
        principal,
        data.event_id,
        data.point_token,
        parse_captured_at(data.captured_at),
        household_id=data.household_id,
    )


async def _weighin(services: Services, principal: Principal, data: WeighinIn) -> WeighinRecorded:
    return await services.scans.weighin(
        principal,
        data.event_id,
        data.household_token,
        Material(data.material),
        data.grams,
        parse_captured_at(data.captured_at),
    )


async def _check_in(services: Services, principal: Principal, data: ShiftScanIn) -> ShiftStarted:
    return await services.shifts.check_in(
        principal, data.event_id, data.post_token, parse_captured_at(data.captured_at)
    )


async def _check_out(services: Services, principal: Principal, data: ShiftScanIn) -> CheckOutReply:
    result = await services.shifts.check_out(
        principal, data.event_id, data.post_token, parse_captured_at(data.captured_at)
    )
    return msgspec.convert(result, CheckOutReply, from_attributes=True)


@dataclass(frozen=True)
class EventType:
    body: type[msgspec.Struct]
    handle: Handler
    status: int
    roles: frozenset[Role]


EVENT_TYPES: dict[str, EventType] = {
    "inspection": EventType(InspectionIn, _inspect, HTTP_201_CREATED, frozenset({Role.INSPECTOR})),
    "dropoff": EventType(DropoffIn, _dropoff, HTTP_201_CREATED, frozenset({Role.RESIDENT})),
    "weighin": EventType(WeighinIn, _weighin, HTTP_201_CREATED, frozenset({Role.CLERK})),
    "check_in": EventType(ShiftScanIn, _check_in, HTTP_201_CREATED, frozenset({Role.VOLUNTEER})),
    "check_out": EventType(ShiftScanIn, _check_out, HTTP_200_OK, frozenset({Role.VOLUNTEER})),
}
BATCH_ROLES = (Role.INSPECTOR, Role.CLERK, Role.VOLUNTEER, Role.RESIDENT)


class EarningController(Controller):
    path = "/api/v1"
    tags = ["earning"]

    @post("/inspections", operation_id="GradeDropoff", guards=[requires(Role.INSPECTOR)])
    async def inspections(
        self, data: JSONBody[InspectionIn], principal: PrincipalDep, services: ServicesDep
    ) -> Graded:
        """An inspector grades a household's sorting (403 `out_of_scope` outside their compounds
        or in their own building). Beyond the daily cap the grade is recorded and earns 0.
        The household is named by its card (`household_token`) or by a resident's drop-off
        from the point's queue (`dropoff_id`: exactly one of the two, 400 naming the field
        otherwise; 404 unknown, 422 `wrong_point` at another point, 422 `dropoff_expired`
        after 30 minutes, 409 `already_graded` for a stream graded from it before)."""
        reply: Graded = await _inspect(services, principal, data)
        return reply

    @post("/dropoffs", operation_id="RecordDropoff", guards=[requires(Role.RESIDENT)])
    async def dropoffs(
        self, data: JSONBody[DropoffIn], principal: PrincipalDep, services: ServicesDep
    ) -> DropoffRecorded:
        """A resident scans a point inside its windows (422 `outside_window`); once per window."""
        reply: DropoffRecorded = await _dropoff(services, principal, data)
        return reply

    @post("/weighins", operation_id="RecordWeighin", guards=[requires(Role.CLERK)])
    async def weighins(
        self, data: JSONBody[WeighinIn], principal: PrincipalDep, services: ServicesDep
    ) -> WeighinRecorded:
        """A clerk weighs recyclables: points per kg by material, rounded down (403
        `out_of_scope` outside their compounds or in their own building). Beyond the household's
        daily weigh-in cap the weigh-in is recorded and earns 0."""
        reply: WeighinRecorded = await _weighin(services, principal, data)
        return reply

    @post("/shifts/check-in", operation_id="CheckIn", guards=[requires(Role.VOLUNTEER)])
    async def check_in(
        self, data: JSONBody[ShiftScanIn], principal: PrincipalDep, services: ServicesDep
    ) -> ShiftStarted:
        """Start a shift at a duty post, at the scan's capture time within the rules' bounds or
        at server time (409 `shift_open`)."""
        reply: ShiftStarted = await _check_in(services, principal, data)
        return reply

    @post(
        "/shifts/check-out",
        operation_id="CheckOut",
        guards=[requires(Role.VOLUNTEER)],
        status_code=HTTP_200_OK,
    )
    async def check_out(
        self, data: JSONBody[ShiftScanIn], principal: PrincipalDep, services: ServicesDep
    ) -> CheckOutReply:
        """End the open shift at the same post (409 `no_open_shift`); it waits for approval."""
        reply: CheckOutReply = await _check_out(services, principal, data)
        return reply

    @post(
        "/events:batch",
        operation_id="SubmitBatch",
        guards=[requires(*BATCH_ROLES)],
        status_code=HTTP_200_OK,
    )
    async def batch(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[BatchIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> BatchReply:
        """Up to 1,000 events captured offline, each processed on its own, in order. Safe to
        resend whole: every event replays by its event_id. Consecutive gradings go to the
        ledger together (one transaction on PostgreSQL), with the outcome each would have had
        alone. Each event counts as a request against the caller's rate limit: those beyond
        it get `429 rate_limited` (with `retry_after_seconds`), to be resent later as they
        were."""
        metrics.batch("events_batch", len(data.events))
        allowed, retry_after = await events_within_limit(request.app, principal, len(data.events))
        results: list[BatchResult | None] = []
        gradings: list[tuple[int, Grading]] = []
        for event in data.events[:allowed]:
            parsed = _parse(principal, event)
            if isinstance(parsed, BatchResult):
                results.append(parsed)
            elif isinstance(parsed, Grading):
                gradings.append((len(results), parsed))
                results.append(None)
            else:
                await _grade_together(services, principal, gradings, results)
                results.append(await _run_one(services, principal, *parsed))
        await _grade_together(services, principal, gradings, results)
        results += [_rate_limited(event, retry_after) for event in data.events[allowed:]]
        return BatchReply(results=[result for result in results if result is not None])


Parsed = BatchResult | Grading | tuple[str | None, "EventType", msgspec.Struct]


def _parse(principal: Principal, event: object) -> Parsed:
    """A failure reply, a grading, or another event ready to run."""
    if not isinstance(event, dict):
        return _failure(None, 400, "validation_error", "an event must be a JSON object", "type")
    fields = dict(event)
    kind = fields.pop("type", None)
    event_id = fields.get("event_id") if isinstance(fields.get("event_id"), str) else None
    event_type = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if event_type is None:
        names = ", ".join(EVENT_TYPES)
        return _failure(event_id, 400, "validation_error", f"type: must be one of {names}", "type")
    if principal.role not in event_type.roles:
        return _failure(event_id, 403, "forbidden", f"your role may not submit {kind} events")
    try:
        body = msgspec.convert(fields, event_type.body)
    except msgspec.ValidationError as error:
        return _failure(event_id, 400, "validation_error", str(error), _field(str(error)))
    if isinstance(body, InspectionIn):
        try:
            return _grading(body)
        except LedgerError as refusal:
            return _refused(event_id, refusal)
    return event_id, event_type, body


async def _grade_together(
    services: Services,
    principal: Principal,
    gradings: list[tuple[int, Grading]],
    results: list[BatchResult | None],
) -> None:
    """The waiting gradings, in one go; their replies go to their places. Empties the list."""
    if not gradings:
        return
    outcomes = await services.gradings.inspect_many(principal, [g for _, g in gradings])
    for (position, grading), outcome in zip(gradings, outcomes, strict=True):
        if isinstance(outcome, LedgerError):
            results[position] = _refused(grading.event_id, outcome)
        else:
            results[position] = BatchResult(grading.event_id, HTTP_201_CREATED, outcome.record())
    gradings.clear()


async def _run_one(
    services: Services,
    principal: Principal,
    event_id: str | None,
    event_type: EventType,
    body: msgspec.Struct,
) -> BatchResult:
    try:
        reply = await event_type.handle(services, principal, body)
    except LedgerError as refusal:
        return _refused(event_id, refusal)
    return BatchResult(event_id, event_type.status, msgspec.to_builtins(reply))


def _rate_limited(event: object, retry_after: int) -> BatchResult:
    """An event past the caller's allowance: not looked at, nothing stored for it."""
    event_id = event.get("event_id") if isinstance(event, dict) else None
    detail = f"too many requests; try again in {retry_after} s"
    return BatchResult(
        event_id if isinstance(event_id, str) else None,
        429,
        error_body("rate_limited", detail, retry_after_seconds=retry_after),
    )


def _refused(event_id: str | None, refusal: LedgerError) -> BatchResult:
    status = STATUS_BY_CODE.get(refusal.code, 400)
    return BatchResult(event_id, status, error_body(refusal.code, refusal.detail, **refusal.extra))


def _failure(
    event_id: str | None, status: int, code: str, detail: str, field: str | None = None
) -> BatchResult:
    body = error_body(code, detail) | ({"field": field} if field else {})
    return BatchResult(event_id=event_id, status=status, body=body)


def _field(message: str) -> str | None:
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].split("`", 1)[0]
    if "field `" in message:
        return message.split("field `", 1)[1].split("`", 1)[0]
    return None
