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

from litestar import Response, get

from api.pages import forms
from api.pages.counter import CLERKS, scanned_household
from api.pages.op_pages import OperationDep, operation_post
from api.pages.scan import LIST_MAX, CodeToken
from api.pages.staff import COORDINATORS
from api.security import requires
from ledger.domain.access import Principal, Role
from ledger.domain.errors import InvalidInput
from ledger.domain.localtime import local_day
from ledger.domain.rules import Material
from ledger.services.container import Services

AT_THE_COUNTER = [requires(Role.CLERK, Role.ADMIN)]
# ASCII digits only ([0-9], not \d: `Decimal` would take ٣ and １ and read a weight no clerk typed).
KILOGRAMS = re.compile(r"^[0-9]{1,4}(?:[.,][0-9]{1,3})?$")
HOURS = re.compile(r"^[0-9]{1,2}(?:[.,][0-9]{1,2})?$")


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


@get("/scan/{token:str}/weigh", guards=CLERKS, include_in_schema=False)
async def weigh_form(token: CodeToken, op: OperationDep) -> Response[Any]:
    """The scanned household's weigh-in: a material and the scale's kilograms."""

    async def more() -> dict[str, Any]:
        row, subject = await scanned_household(op.services, token)
        account = await op.services.accounts.account(op.principal, row.account)
        return {"subject": subject, "balance": account.balance_points}

    return await op.form(
        "weighin",
        more,
        token=token,
        materials=[m.value for m in Material],
    )


@operation_post("/scan/{token:str}/weigh", CLERKS)
async def weigh(token: CodeToken, op: OperationDep) -> Response[Any]:
    """The same `Scans.weighin` as `POST /api/v1/weighins`: the points, or why none."""
    _, subject = await scanned_household(op.services, token)
    form, event_id = await op.posted()
    material = Material(forms.choice(form, "material", [m.value for m in Material]))
    grams = kilograms_to_grams(forms.required(form, "kilograms", 12))
    return await op.done(
        "weighin",
        event_id,
        lambda: op.services.scans.weighin(op.principal, event_id, token, material, grams),
        f"/q/{token}",
        subject=subject,
        material=material.value,
        grams=grams,
    )


@get("/counter/refund", guards=AT_THE_COUNTER, include_in_schema=False)
async def refund_form(op: OperationDep) -> Response[Any]:
    """A redemption's number (on its receipt) and why it is refunded."""
    return await op.form("refund")


@operation_post("/counter/refund", AT_THE_COUNTER)
async def refund(op: OperationDep) -> Response[Any]:
    """The same `Spending.refund` as `POST /api/v1/redemptions/{id}/refund`."""
    form, event_id = await op.posted()
    redemption_id = forms.integer(form, "redemption_id")
    reason = forms.required(form, "reason")
    return await op.done(
        "refund",
        event_id,
        lambda: op.services.spending.refund(op.principal, event_id, redemption_id, reason),
        "/counter" if op.principal.role is Role.CLERK else "/staff",
    )


async def _backfill_choices(
    services: Services, principal: Principal
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The compounds the coordinator serves, and the volunteers of their communities."""
    compounds = (await services.registry.page("compounds", None, LIST_MAX, {})).items
    mine = [c for c in compounds if principal.covers_compound(int(c["id"]))]
    communities = {int(c["community_id"]) for c in mine}
    volunteers = (await services.registry.page("volunteers", None, LIST_MAX, {})).items
    theirs = [v for v in volunteers if int(v["community_id"]) in communities]
    return mine, [v for v in theirs if v["id"] != principal.volunteer_id]


@get("/coordinator/backfill", guards=COORDINATORS, include_in_schema=False)
async def backfill_form(op: OperationDep) -> Response[Any]:
    """Hours served without a scan (a paper sign-in sheet), for a volunteer and a day."""

    async def more() -> dict[str, Any]:
        compounds, volunteers = await _backfill_choices(op.services, op.principal)
        return {"compounds": compounds, "volunteers": volunteers}

    return await op.form(
        "backfill",
        more,
        today=local_day(op.services.clock.now()).isoformat(),
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput("day", "a day like 2026-11-20") from error


@operation_post("/coordinator/backfill", COORDINATORS)
async def backfill(op: OperationDep) -> Response[Any]:
    """The same `Shifts.backfill` as `POST /api/v1/shifts:backfill` (no own record, the
    day's maximum)."""
    form, event_id = await op.posted()
    volunteer_id = forms.integer(form, "volunteer_id")
    compound_id = forms.integer(form, "compound_id")
    day = _day(forms.required(form, "day", 10))
    minutes = hours_to_minutes(forms.required(form, "hours", 8))
    note = forms.required(form, "note")
    return await op.done(
        "backfill",
        event_id,
        lambda: op.services.shifts.backfill(
            op.principal,
            event_id,
            volunteer_id=volunteer_id,
            compound_id=compound_id,
            day=day,
            minutes=minutes,
            note=note,
        ),
        "/coordinator",
    )


OPERATION_HANDLERS = [weigh_form, weigh, refund_form, refund, backfill_form, backfill]
