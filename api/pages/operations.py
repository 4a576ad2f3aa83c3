"""Staff operations that were only in the API: a clerk's weigh-in and refund at the counter,
a coordinator's back-filled hours. Same services as the API (`Scans.weighin`,
`Spending.refund`, `Shifts.backfill`).

Each form's page mints its event id once, in its URL (api/pages/once.py), and posts to its
own address: Back, reload and a double tap replay the first answer. A refusal names the field
and offers the form again under a new event id (the refused one would only be refused again).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.errors import STATUS_BY_CODE
from api.pages import forms
from api.pages.counter import CLERKS
from api.pages.messages import refusal_texts
from api.pages.once import page_event_id, with_new_event_id
from api.pages.scan import LIST_MAX, CodeToken, check_length, subject_of
from api.pages.staff import COORDINATORS
from api.pages.web import render
from api.security import requires
from ledger.domain.access import Principal, Role
from ledger.domain.errors import InvalidInput, LedgerError
from ledger.domain.localtime import local_day
from ledger.domain.rules import Material
from ledger.domain.scan_codes import CodeKind
from ledger.services.container import Services
from ledger.services.runner import DONE

AT_THE_COUNTER = [requires(Role.CLERK, Role.ADMIN)]
# ASCII digits only ([0-9], not \d: `Decimal` would take ٣ and １ and read a weight no clerk typed).
KILOGRAMS = re.compile(r"^[0-9]{1,4}(?:[.,][0-9]{1,3})?$")
HOURS = re.compile(r"^[0-9]{1,2}(?:[.,][0-9]{1,2})?$")


def operation_refused(request: Request[Any, Any, Any], exc: LedgerError) -> Template:
    """Every reason, the field named; "Try again" opens the form afresh (a new event id)."""
    return render(
        "op_refused.html",
        STATUS_BY_CODE.get(exc.code, 400),
        me=request.user,
        reasons=refusal_texts(exc),
        back=request.url.path,
    )


OPERATION_ERRORS: dict[Any, Any] = {LedgerError: operation_refused}


async def already(services: Services, principal: Principal, event_id: str) -> bool:
    """This event was done before: the page says the answer is a replay."""
    return await services.runner.outcome_of(event_id, principal) == DONE


def kilograms_to_grams(text: str) -> int:
    """ "2.5" or "2,5" kg as whole grams; the 30 kg cap is the rules' (`weighin_grams_max`)."""
    value = text.strip()
    if not KILOGRAMS.fullmatch(value) or Decimal(value.replace(",", ".")) <= 0:
        raise InvalidInput("kilograms", "a weight in kilograms, like 2.5")
    return int(Decimal(value.replace(",", ".")) * 1000)


def hours_to_minutes(text: str) -> int:
    value = text.strip()
    if not HOURS.fullmatch(value) or Decimal(value.replace(",", ".")) <= 0:
        raise InvalidInput("hours", "a number of hours, like 1.5")
    return int(Decimal(value.replace(",", ".")) * 60)


async def _household(services: Services, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    check_length(token)
    code, row = await services.codes.resolve(token, CodeKind.HOUSEHOLD)
    return row, await subject_of(code.kind, row)


@get("/scan/{token:str}/weigh", guards=CLERKS, include_in_schema=False)
async def weigh_form(
    token: CodeToken,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The scanned household's weigh-in: a material and the scale's kilograms."""
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    row, subject = await _household(services, token)
    account = await services.accounts.account(principal, row["account"])
    return render(
        "op_form.html",
        me=principal,
        what="weighin",
        action=request.url.path,
        event_id=event_id,
        outcome=await services.runner.outcome_of(event_id, principal),
        subject=subject,
        token=token,
        balance=account["balance_points"],
        materials=[m.value for m in Material],
    )


@post(
    "/scan/{token:str}/weigh",
    guards=CLERKS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
    exception_handlers=OPERATION_ERRORS,
)
async def weigh(
    token: CodeToken,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The same `Scans.weighin` as `POST /api/v1/weighins`: the points, or why none."""
    _, subject = await _household(services, token)
    form = await forms.read(request)
    event_id = forms.required(form, "event_id", 64)
    material = Material(forms.choice(form, "material", [m.value for m in Material]))
    grams = kilograms_to_grams(forms.required(form, "kilograms", 12))
    again = await already(services, principal, event_id)
    result = await services.scans.weighin(principal, event_id, token, material, grams)
    return render(
        "op_done.html",
        me=principal,
        what="weighin",
        result=result,
        subject=subject,
        material=material.value,
        grams=grams,
        again=again,
        back=f"/q/{token}",
    )


@get("/counter/refund", guards=AT_THE_COUNTER, include_in_schema=False)
async def refund_form(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """A redemption's number (on its receipt) and why it is refunded."""
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    return render(
        "op_form.html",
        me=principal,
        what="refund",
        action=request.url.path,
        event_id=event_id,
        outcome=await services.runner.outcome_of(event_id, principal),
    )


@post(
    "/counter/refund",
    guards=AT_THE_COUNTER,
    include_in_schema=False,
    status_code=HTTP_200_OK,
    exception_handlers=OPERATION_ERRORS,
)
async def refund(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """The same `Spending.refund` as `POST /api/v1/redemptions/{id}/refund`."""
    form = await forms.read(request)
    event_id = forms.required(form, "event_id", 64)
    redemption_id = forms.integer(form, "redemption_id")
    reason = forms.required(form, "reason")
    again = await already(services, principal, event_id)
    result = await services.spending.refund(principal, event_id, redemption_id, reason)
    back = "/counter" if principal.role is Role.CLERK else "/staff"
    return render(
        "op_done.html", me=principal, what="refund", result=result, again=again, back=back
    )


async def _backfill_choices(
    services: Services, principal: Principal
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The compounds the coordinator serves, and the volunteers of their communities."""
    compounds = (await services.registry.page("compounds", None, LIST_MAX, {}))["items"]
    mine = [c for c in compounds if principal.covers_compound(int(c["id"]))]
    communities = {int(c["community_id"]) for c in mine}
    volunteers = (await services.registry.page("volunteers", None, LIST_MAX, {}))["items"]
    theirs = [v for v in volunteers if int(v["community_id"]) in communities]
    return mine, [v for v in theirs if v["id"] != principal.volunteer_id]


@get("/coordinator/backfill", guards=COORDINATORS, include_in_schema=False)
async def backfill_form(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """Hours served without a scan (a paper sign-in sheet), for a volunteer and a day."""
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    compounds, volunteers = await _backfill_choices(services, principal)
    return render(
        "op_form.html",
        me=principal,
        what="backfill",
        action=request.url.path,
        event_id=event_id,
        outcome=await services.runner.outcome_of(event_id, principal),
        compounds=compounds,
        volunteers=volunteers,
        today=local_day(services.clock.now()).isoformat(),
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput("day", "a day like 2026-11-20") from error


@post(
    "/coordinator/backfill",
    guards=COORDINATORS,
    include_in_schema=False,
    status_code=HTTP_200_OK,
    exception_handlers=OPERATION_ERRORS,
)
async def backfill(
    request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
) -> Response[Any]:
    """The same `Shifts.backfill` as `POST /api/v1/shifts:backfill` (no own record, the
    day's maximum)."""
    form = await forms.read(request)
    event_id = forms.required(form, "event_id", 64)
    volunteer_id = forms.integer(form, "volunteer_id")
    compound_id = forms.integer(form, "compound_id")
    day = _day(forms.required(form, "day", 10))
    minutes = hours_to_minutes(forms.required(form, "hours", 8))
    note = forms.required(form, "note")
    again = await already(services, principal, event_id)
    result = await services.shifts.backfill(
        principal, event_id, volunteer_id, compound_id, day, minutes, note
    )
    return render(
        "op_done.html", me=principal, what="backfill", result=result, again=again,
        back="/coordinator",
    )  # fmt: skip


OPERATION_HANDLERS = [weigh_form, weigh, refund_form, refund, backfill_form, backfill]
