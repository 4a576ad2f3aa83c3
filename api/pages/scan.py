"""What a scanned code opens (`/q/<token>`), by who is looking, and the actions it offers.

`/q/<token>` is public: anyone may see what a code is. The actions live under
`/scan/<token>/…`, behind the sign-in cookie and the same role guards as the API, and call
the same service methods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER, HTTP_404_NOT_FOUND

from api.deps import ServicesDep
from api.pages import forms
from api.pages.messages import (
    REASON_CODES,
    address,
    code_refusal_text,
    household_choices,
    refusal_text,
    unit_name,
)
from api.pages.once import for_purpose, page_event_id, with_new_event_id
from api.pages.op_pages import OperationDep
from api.pages.volunteering import apply_url
from api.pages.web import login_url, render, viewer
from api.security import requires
from ledger.domain.access import Principal, Role, acting_household
from ledger.domain.errors import LedgerError, OutOfScope
from ledger.domain.localtime import local_day, minute_of_day
from ledger.domain.photos import PHOTO_BYTES_MAX
from ledger.domain.registry import next_opening, parse_windows
from ledger.domain.rotation import NotAssigned
from ledger.domain.rules import Grade, Stream
from ledger.domain.scan_codes import CodeKind
from ledger.domain.short_codes import looks_typed
from ledger.services import views
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.shifts import Shifts
from ledger.store.earning import ScannedHousehold, ScannedPoint, ScannedSubject

CodeToken = Annotated[str, PathParameter(max_length=200)]
TOKEN_LENGTH_MAX = 100
POINT_COOKIE = "gl_point"
LIST_MAX = 100
# The no-JavaScript grading form carries its photo as is: a 2 MiB photo and the form around it.
GRADE_FORM_BYTES_MAX = PHOTO_BYTES_MAX + 64 * 1024
# `Shifts.check_in` or `Shifts.check_out`, as a page calls it: (actor, event id, post code).
ShiftStep = Callable[[Shifts], Callable[[Principal, str, str], Awaitable[Any]]]


def check_length(token: str) -> None:
    if len(token) > TOKEN_LENGTH_MAX:
        raise NotFoundException("no such code")


@get("/q/{token:str}", opt={"public": True}, include_in_schema=False)
async def open_code(
    token: CodeToken, request: Request[Any, Any, Any], services: ServicesDep
) -> Response[Any]:
    """Says what the code is; a signed-in person gets what their role does with it."""
    check_length(token)
    me = await viewer(request)
    try:
        resolved = await services.codes.resolve(token)
    except LedgerError as refusal:
        return code_refused(me, token, refusal)
    kind, row = resolved.code.kind, resolved.subject
    subject = await subject_of(row)
    common: dict[str, Any] = {
        "me": me,
        "token": token,
        "kind": kind.value,
        "subject": subject,
        "chosen_point": request.cookies.get(POINT_COOKIE),
    }
    if me is None:
        # A duty post's code also invites passers-by to volunteer in its community.
        apply = apply_url(row.community_id) if kind is CodeKind.POST else None
        return render("code.html", **common, sign_in=login_url(f"/q/{token}"), apply=apply)
    if _has_form(me, kind):
        event_id = page_event_id(request)
        if event_id is None:  # this scan's actions get their event ids once (api/pages/once.py)
            return with_new_event_id(request)
        common["event_id"] = event_id
    return await _for_role(services, me, kind, row, common)


def code_refused(me: Principal | None, token: str, refusal: LedgerError) -> Template:
    """The code's page saying why it opens nothing (404: unknown, revoked, an old card)."""
    error = code_refusal_text(refusal)
    return render("code.html", HTTP_404_NOT_FOUND, me=me, token=token, error=error)


def _has_form(me: Principal, kind: CodeKind) -> bool:
    """The code opens a form that writes: grading, a drop-off, a check-in or -out."""
    return (
        (kind is CodeKind.HOUSEHOLD and me.role is Role.INSPECTOR)
        or (kind is CodeKind.POINT and me.role is Role.RESIDENT)
        or (kind is CodeKind.POST and me.role is Role.VOLUNTEER and me.volunteer_id is not None)
    )


async def _for_role(
    services: Services,
    me: Principal,
    kind: CodeKind,
    row: ScannedSubject,
    common: dict[str, Any],
) -> Response[Any]:
    household = row if isinstance(row, ScannedHousehold) else None
    if household is not None and me.role is Role.RESIDENT and me.household_id == household.id:
        return Redirect("/home", status_code=HTTP_303_SEE_OTHER)
    if household is not None and me.role is Role.INSPECTOR:
        return await _grading(services, me, household, common)
    if household is not None and me.role is Role.CLERK:
        return await _counter(services, me, household, common)
    if kind is CodeKind.POINT and me.role is Role.RESIDENT:
        windows = parse_windows(common["subject"]["windows"])
        opening = next_opening(windows, minute_of_day(services.clock.now()))
        mine = household_choices(await services.members.households_of(me))
        return render("dropoff.html", **common, opening=opening, mine=mine)
    if kind is CodeKind.POINT and me.role is Role.INSPECTOR:
        page = render(
            "point_inspector.html",
            **common,
            point_id=row.id,
            streams=[s.value for s in Stream],
            grades=[g.value for g in Grade],
            address_pattern=address("{building}", "{unit}", "{room}"),
        )
        page.set_cookie(POINT_COOKIE, common["token"], httponly=True, samesite="lax", path="/")
        return page
    if kind is CodeKind.POST and me.role is Role.VOLUNTEER and me.volunteer_id is not None:
        shift = await views.open_shift(me.volunteer_id)
        return render(
            "post.html",
            **common,
            shift=shift,
            check_in_id=for_purpose(common["event_id"], "check-in"),
            check_out_id=for_purpose(common["event_id"], "check-out"),
        )
    return render("code.html", **common)


async def subject_of(row: ScannedSubject) -> dict[str, Any]:
    """What the page calls the scanned thing: an address, or a point's or post's name."""
    if isinstance(row, ScannedHousehold):
        household = await views.household(row.id)
        return {
            "compound": household.compound_name,
            "name": unit_name(row),
            "compound_id": row.compound,
            "community_id": household.community_id,
        }
    names = await views.compound_names([row.compound])
    windows = row.windows if isinstance(row, ScannedPoint) else ""
    return {
        "compound": names.get(row.compound, ""),
        "name": row.name,
        "compound_id": row.compound,
        "windows": [w for w in windows.split(",") if w],
    }


async def _grading(
    services: Services, me: Principal, row: ScannedHousehold, common: dict[str, Any]
) -> Response[Any]:
    today = local_day(services.clock.now())
    if me.assigned_on(today) is not None and not me.grades_compound(row.compound, today):
        error = refusal_text(NotAssigned("not among this week's compounds"))
        return render("code.html", **common, error=error)
    if not me.grades_compound(row.compound, today):
        error = refusal_text(OutOfScope("outside the inspector's compounds"))
        return render("code.html", **common, error=error)
    points = await services.registry.page("points", None, LIST_MAX, {"compound": row.compound})
    return render(
        "grade.html",
        **common,
        points=points.items,
        streams=[s.value for s in Stream],
        grades=[g.value for g in Grade],
        reasons=REASON_CODES,
        previous=await views.recent_grades(row.id, 3),
    )


async def _counter(
    services: Services, me: Principal, row: ScannedHousehold, common: dict[str, Any]
) -> Response[Any]:
    if not me.covers_compound(row.compound):
        error = refusal_text(OutOfScope("outside the clerk's compounds"))
        return render("code.html", **common, error=error)
    account = await services.accounts.account(me, row.account)
    community = {"community": common["subject"]["community_id"]}
    rewards = await services.registry.page("rewards", None, LIST_MAX, community)
    merchants = await services.registry.page("merchants", None, LIST_MAX, community)
    return render(
        "counter.html",
        **common,
        balance=account.balance_points,
        rewards=[r for r in rewards.items if r["active"]],
        merchants=merchants.items,
    )


def _scan_action(action: str, role: Role, **options: Any) -> post:
    """What every action on a scanned code is: a form posted to `/scan/<token>/<action>` by
    `role`, answered with a page (200), outside the OpenAPI document."""
    return post(
        f"/scan/{{token:str}}/{action}",
        guards=[requires(role)],
        include_in_schema=False,
        status_code=HTTP_200_OK,
        **options,
    )


async def _action_form(token: str, request: Request[Any, Any, Any]) -> FormMultiDict:
    """The posted form of an action on a code of a possible length (404 otherwise)."""
    check_length(token)
    return await forms.read(request)


@_scan_action("dropoff", Role.RESIDENT)
async def dropoff(token: CodeToken, op: OperationDep) -> Response[Any]:
    """One tap at a collection point: the same `Scans.dropoff` as `POST /api/v1/dropoffs`."""
    form = await _action_form(token, op.request)
    chosen = forms.text(form, "household_id", 20)
    household_id = forms.whole_number(chosen, "household_id") if chosen else None
    result = await op.services.scans.dropoff(
        op.principal, forms.required(form, "event_id", 64), token, household_id=household_id
    )
    # The page follows the balance while the point's inspector may grade the drop-off.
    household = await views.household(acting_household(op.principal, household_id))
    return render(
        "done.html", me=op.principal, what="dropoff", result=result, account_id=household.account
    )


@_scan_action("grade", Role.INSPECTOR, request_max_body_size=GRADE_FORM_BYTES_MAX)
async def grade(token: CodeToken, op: OperationDep) -> Response[Any]:
    """The grading form without JavaScript (multipart, with an optional photo file); with
    it, grades and their photos go through the offline queue."""
    form = await _action_form(token, op.request)
    point_token = forms.required(form, "point_token", TOKEN_LENGTH_MAX)
    stream = Stream(forms.choice(form, "stream", [s.value for s in Stream]))
    # One grade per stream per opening of the form: a double tap or a resend replays it.
    event_id = for_purpose(forms.required(form, "event_id", 64), stream.value)
    grade = Grade(forms.choice(form, "grade", [g.value for g in Grade]))
    reasons = forms.many(form, "reasons", REASON_CODES)
    photo = await forms.upload(form, "photo")
    photo_ref = None
    if photo is not None:
        data, content_type = photo
        photo_ref = (await op.services.photos.store(op.principal, data, content_type)).ref
    grading = Grading(event_id, token, point_token, stream, grade, reasons, photo_ref)
    result = await op.services.gradings.inspect(op.principal, grading)
    return render("done.html", me=op.principal, what="grade", result=result, back=f"/q/{token}")


def _shift_scan(step: str, act: ShiftStep) -> HTTPRouteHandler:
    """`/scan/<post code>/<step>`: a volunteer checks in or out at a duty post, the same
    `Shifts` method as the API's; `act` picks it."""

    @_scan_action(step, Role.VOLUNTEER)
    async def shift_scan(token: CodeToken, op: OperationDep) -> Response[Any]:
        form = await _action_form(token, op.request)
        result = await act(op.services.shifts)(
            op.principal, forms.required(form, "event_id", 64), token
        )
        return render("done.html", me=op.principal, what=step.replace("-", "_"), result=result)

    return shift_scan


check_in = _shift_scan("check-in", lambda shifts: shifts.check_in)
check_out = _shift_scan("check-out", lambda shifts: shifts.check_out)


@get("/open", opt={"public": True}, include_in_schema=False)
async def open_typed_code(
    code: Annotated[str, QueryParameter(min_length=1, max_length=TOKEN_LENGTH_MAX + 100)],
    request: Request[Any, Any, Any],
    services: ServicesDep,
) -> Redirect:
    """A code typed by hand (no camera, a scuffed sticker): the same page as scanning it.
    A whole URL is accepted too; only what follows `/q/` is kept. The short code printed under
    the QR code opens the same page, for staff in their compounds only (403 `scan_required`
    for anyone else, 422 `invalid_code` when its check digit fails)."""
    token = code.strip().rsplit("/q/", 1)[-1].strip("/")
    if looks_typed(token):
        scanned = (await services.codes.resolve(token, actor=await viewer(request))).code
        token = services.codes.token(scanned.kind, scanned.subject_id, scanned.card_serial)
    return Redirect(f"/q/{quote(token, safe='')}", status_code=HTTP_303_SEE_OTHER)


SCAN_HANDLERS = [open_code, open_typed_code, dropoff, grade, check_in, check_out]
