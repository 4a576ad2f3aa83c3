"""Sign-in and sign-out for the pages: the API's JWT, carried in an HttpOnly cookie."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.deps import ServicesDep
from api.errors import STATUS_BY_CODE
from api.pages.admin import ADMIN_SESSION_COOKIE, admin_session_cookie
from api.pages.messages import refusal_text
from api.pages.web import (
    HOME_BY_ROLE,
    auth_cookie,
    expired_auth_cookie,
    render,
    safe_next,
    signed_token,
    viewer,
)
from api.security import client_address, issue_token
from ledger.domain.access import Role
from ledger.domain.errors import LedgerError
from ledger.store import sessions as admin_sessions

NextPath = Annotated[str | None, QueryParameter(max_length=500)]
FIELD_LENGTH_MAX = 128
SIGN_IN_REFUSALS = frozenset({"invalid_credentials", "sign_in_locked", "rate_limited"})


@get("/", opt={"public": True}, include_in_schema=False)
async def start(request: Request[Any, Any, Any]) -> Redirect:
    """The site's front door: each role's own home page, or the sign-in form."""
    principal = await viewer(request)
    target = HOME_BY_ROLE[principal.role] if principal else "/login"
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


@get("/login", opt={"public": True}, include_in_schema=False)
async def login_form(request: Request[Any, Any, Any], next: NextPath = None) -> Template:
    return render("login.html", next=safe_next(next), me=await viewer(request))


@post("/login", opt={"public": True}, include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def login(request: Request[Any, Any, Any], services: ServicesDep) -> Response[Any]:
    """The same check as `POST /api/v1/auth/token`; the token goes into the cookie."""
    form = await request.form()
    username = str(form.get("username", ""))[:FIELD_LENGTH_MAX].strip()
    password = str(form.get("password", ""))[:FIELD_LENGTH_MAX]
    target = safe_next(str(form.get("next", "")))
    try:
        signed_in = await services.users.sign_in(username, password, client_address(request))
    except LedgerError as refusal:
        if refusal.code not in SIGN_IN_REFUSALS:
            raise
        status = STATUS_BY_CODE.get(refusal.code, 401)
        error = refusal_text(refusal)
        return render("login.html", status, next=target, username=username, error=error)
    principal = signed_in.principal
    token = issue_token(request, signed_in)
    settings = request.app.state.settings
    redirect = Redirect(target or HOME_BY_ROLE[principal.role], status_code=HTTP_303_SEE_OTHER)
    redirect.set_cookie(auth_cookie(token, settings))
    if principal.role is Role.ADMIN:
        session = await admin_sessions.open_admin_session(principal.username)
        redirect.set_cookie(**admin_session_cookie(session, settings))
    return redirect


@post("/logout", opt={"public": True}, include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def logout(request: Request[Any, Any, Any], services: ServicesDep) -> Redirect:
    """The cookie's session is revoked, not only forgotten by this browser: a copy of the
    cookie stops working too. The user's other sessions go on."""
    redirect = Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    redirect.set_cookie(expired_auth_cookie())
    token = signed_token(request)
    if token is not None and isinstance(token.extras.get("sid"), str):
        await services.sessions.sign_out(int(token.sub), token.extras["sid"], token.exp)
    if admin_session := request.cookies.get(ADMIN_SESSION_COOKIE):
        await admin_sessions.close_admin_session(admin_session)
        redirect.delete_cookie(ADMIN_SESSION_COOKIE, path="/")
    return redirect
