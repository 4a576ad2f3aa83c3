"""Joining a household from its card's page (issue 15): `/join/<token>` asks for the join
code printed on the card sheet, a mobile number, a PIN and a name; the same
`Members.join` as `POST /api/v1/households/join`, then signed in (the sign-in cookie) and on
the household's home page. Members remove members from the home page; staff reset a
household's join code from its staff page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER

from api.deps import ServicesDep
from api.errors import STATUS_BY_CODE
from api.pages import forms
from api.pages.messages import refusal_text
from api.pages.op_pages import OperationDep, household_shown, operation_post
from api.pages.scan import CodeToken, check_length, code_refused, subject_of
from api.pages.web import auth_cookie, render, viewer
from api.params import PathId
from api.security import client_address, issue_token, requires
from ledger.domain.access import Role
from ledger.domain.errors import InvalidInput, LedgerError
from ledger.services.container import Services

FIELD_LENGTH_MAX = 50
MEMBERS_PAGE = [requires(Role.RESIDENT)]
JOIN_CODE_STAFF = [requires(Role.ADMIN, Role.CLERK)]


@get("/join/{token:str}", opt={"public": True}, include_in_schema=False)
async def join_form(
    token: CodeToken, request: Request[Any, Any, Any], services: ServicesDep
) -> Response[Any]:
    """A phone-size form under the card's address: join code, number, PIN (twice), name."""
    check_length(token)
    return await _join_page(request, services, token, HTTP_200_OK, form={})


@post(
    "/join/{token:str}",
    opt={"public": True},
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
async def join(
    token: CodeToken, request: Request[Any, Any, Any], services: ServicesDep
) -> Response[Any]:
    check_length(token)
    form = await forms.read(request)
    kept = {  # shown again after a refusal (never the PIN or the join code)
        "phone": str(form.get("phone", ""))[:20],
        "display_name": str(form.get("display_name", ""))[:FIELD_LENGTH_MAX],
        "as_helper": form.get("as_helper") == "1",
    }
    try:
        pin = forms.required(form, "pin", 20)
        if forms.text(form, "pin_again", 20) not in ("", pin):
            raise InvalidInput("pin_again", "the two PINs differ")
        joined = await services.members.join(
            token,
            forms.required(form, "join_code", 20),
            forms.required(form, "phone", 20),
            pin,
            forms.text(form, "display_name", FIELD_LENGTH_MAX),
            bool(kept["as_helper"]),
            client_address(request),
        )
    except LedgerError as refusal:
        status = STATUS_BY_CODE.get(refusal.code, 400)
        error = refusal_text(refusal)
        return await _join_page(request, services, token, status, form=kept, error=error)
    redirect = Redirect(f"/home?household={joined.household_id}", status_code=HTTP_303_SEE_OTHER)
    redirect.set_cookie(
        auth_cookie(issue_token(request, joined.signed_in), request.app.state.settings)
    )
    return redirect


async def _join_page(
    request: Request[Any, Any, Any], services: Services, token: str, status: int, **context: Any
) -> Response[Any]:
    """`join.html` under the card's household, or the code's page when the card opens none."""
    me = await viewer(request)
    try:
        household = await services.codes.household(token)
    except LedgerError as bad_card:
        return code_refused(me, token, bad_card)
    subject = await subject_of(household)
    return render("join.html", status, me=me, token=token, subject=subject, **context)


@post(
    "/home/members/{user_id:int}/remove",
    guards=MEMBERS_PAGE,
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
async def remove_member(user_id: PathId, op: OperationDep) -> Response[Any]:
    """The same `Members.remove` as `DELETE /api/v1/households/{id}/members/{user_id}`."""
    form, event_id = await op.posted()
    household_id = forms.integer(form, "household_id")
    await op.services.members.remove(op.principal, event_id, household_id, user_id)
    target = "/login" if user_id == op.principal.user_id else f"/home?household={household_id}"
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


@get(
    "/staff/households/{household_id:int}/join-code",
    guards=JOIN_CODE_STAFF,
    include_in_schema=False,
)
async def join_code_form(household_id: PathId, op: OperationDep) -> Response[Any]:
    """The household's join code and members; staff reset the code on request."""

    async def more() -> dict[str, Any]:
        return await household_shown(household_id)() | {
            "join_code": await op.services.members.join_code(op.principal, household_id),
            "members": (await op.services.members.members(op.principal, household_id)).items,
        }

    return await op.form("joincode", more)


@operation_post("/staff/households/{household_id:int}/join-code", JOIN_CODE_STAFF)
async def reset_join_code(household_id: PathId, op: OperationDep) -> Response[Any]:
    """The same `Members.reset_join_code` as `POST /api/v1/households/{id}/join-code:reset`."""
    return await op.once(
        "joincode",
        lambda event_id: op.services.members.reset_join_code(op.principal, event_id, household_id),
        f"/staff/households/{household_id}/join-code",
        household_shown(household_id),
    )


@post(
    "/staff/households/{household_id:int}/join-code/members/{user_id:int}/remove",
    guards=JOIN_CODE_STAFF,
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
async def staff_remove_member(
    household_id: PathId, user_id: PathId, op: OperationDep
) -> Response[Any]:
    """Staff remove a member from the household's staff page (the same `Members.remove`)."""
    _, event_id = await op.posted()
    await op.services.members.remove(op.principal, event_id, household_id, user_id)
    return Redirect(f"/staff/households/{household_id}/join-code", status_code=HTTP_303_SEE_OTHER)


JOINING_HANDLERS = [
    join_form,
    join,
    remove_member,
    join_code_form,
    reset_join_code,
    staff_remove_member,
]
