"""Errors as pages for people, as JSON for programs.

A request whose `Accept` prefers `text/html` (every browser's does) gets an error page in the
person's language, with the signed-in bar and a way home; an API client sending `*/*` or
asking for JSON keeps the JSON errors of API.md (api/errors.py). The pages' own forms always
answer with pages (`PAGE_EXCEPTION_HANDLERS`).

An address that matches no route fails before any middleware ran, so the language, the
viewer and the CSRF token are worked out here from the request itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect, Template
from litestar.response.base import ASGIResponse
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.utils.scope.state import ScopeState

from api.errors import STATUS_BY_CODE, log_unhandled, unreadable_body_handler
from api.pages.i18n import _, preferences_of, speaking
from api.pages.messages import refusal_text
from api.pages.web import (
    CONTENT_SECURITY_POLICY,
    CSRF_COOKIE,
    expired_auth_cookie,
    login_url,
    safe_next,
    signed_in,
)
from api.security import AUTH_COOKIE
from ledger.domain.errors import LedgerError

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]
JSON = "application/json"
HTML = "text/html"
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Vary": "Accept, Cookie, Accept-Language",
}


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser: `text/html` ranks above JSON in Accept. `*/*`, no header, or JSON first
    mean a program."""
    try:
        return request.accept.best_match([JSON, HTML], default=JSON) == HTML
    except (ValueError, IndexError):  # an Accept header too broken to read: a program's
        return False


class ErrorPage(Template):
    """pages/error.html, drawn in the request's language even where no middleware set it."""

    def __init__(self, locale: str, large: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.locale, self.large = locale, large

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        with speaking(self.locale, self.large):
            return super().to_asgi_response(*args, **kwargs)


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    message: Callable[[], str],
    headers: dict[str, str] | None = None,
) -> ErrorPage:
    """`message` is called in the person's language."""
    chosen = preferences_of(request)
    state = ScopeState.from_scope(request.scope)
    if not isinstance(state.csrf_token, str):  # the sign-out form in the bar needs it
        state.csrf_token = request.cookies.get(CSRF_COOKIE, "")
    with speaking(chosen.locale, chosen.large):
        text = message()
    return ErrorPage(
        chosen.locale,
        chosen.large,
        template_name="pages/error.html",
        status_code=status,
        headers=PAGE_HEADERS | (headers or {}),
        context={"me": signed_in(request), "message": text, "back": _back(request)},
    )


def _back(request: Request[Any, Any, Any]) -> str:
    referer = request.headers.get("referer")
    back = safe_next(urlsplit(referer).path if referer else None) or "/"
    return "/" if back == request.url.path else back


def to_login(request: Request[Any, Any, Any], _exc: NotAuthorizedException) -> Response[Any]:
    # raw_path: a mount (/admin) sees its own path rewritten to "/".
    target = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = request.headers.get("referer", "/")
        target = safe_next(urlsplit(target).path) or "/"
    redirect = Redirect(login_url(target), status_code=HTTP_303_SEE_OTHER)
    if AUTH_COOKIE in request.cookies:
        redirect.set_cookie(expired_auth_cookie())
    return redirect


def forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Template:
    if "CSRF" in str(exc.detail):
        return error_page(
            request,
            403,
            lambda: _("This form has expired. Go back, reload the page and try again."),
        )
    return error_page(request, 403, lambda: _("This page is not for your role."))


def refused(request: Request[Any, Any, Any], exc: LedgerError) -> Template:
    return error_page(request, STATUS_BY_CODE.get(exc.code, 400), lambda: refusal_text(exc))


def invalid(request: Request[Any, Any, Any], _exc: Exception) -> Template:
    return error_page(request, 400, lambda: _("Something in the form was not valid."))


def too_large(request: Request[Any, Any, Any], _exc: RequestEntityTooLarge) -> Template:
    """A form (the grading form's photo, sent without JavaScript) above its page's limit."""
    return error_page(
        request, 413, lambda: _("The photo is too large: at most 2 MiB. Choose a smaller one.")
    )


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Template:
    """No such page (an unknown address, a malformed id, an unknown code), a page that only
    takes a form, or anything else the framework refuses."""
    if exc.status_code == 404:
        return error_page(request, 404, lambda: _("There is no such page."))
    if exc.status_code == 405:
        return error_page(
            request,
            405,
            lambda: _("This address only takes a form sent from its page."),
            headers={k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"},
        )
    return error_page(request, exc.status_code, lambda: _("This cannot be done."))


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Template:
    log_unhandled(request, exc)
    return error_page(
        request,
        500,
        lambda: _("Something went wrong on our side. Try again: a form sent again counts once."),
    )


PAGE_EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotAuthorizedException: to_login,
    PermissionDeniedException: forbidden,
    LedgerError: refused,
    ValidationException: invalid,
    RequestEntityTooLarge: too_large,
}
_PAGE_FOR: dict[Any, Handler] = {
    **PAGE_EXCEPTION_HANDLERS,
    UnicodeDecodeError: invalid,
    RecursionError: invalid,
    HTTPException: http_error,
    Exception: server_error,
}


def _for_people(exc: Exception, for_programs: Handler) -> Handler:
    if for_programs is unreadable_body_handler:  # a body the database cannot store
        return invalid
    return next(_PAGE_FOR[kind] for kind in type(exc).__mro__ if kind in _PAGE_FOR)


def _negotiated(for_programs: Handler) -> Handler:
    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if wants_html(request):
            return _for_people(exc, for_programs)(request, exc)
        return for_programs(request, exc)

    return handler


def negotiated_handlers(handlers: dict[Any, Handler]) -> dict[Any, Handler]:
    """The app's handlers, each answering a browser with a page and a program with JSON."""
    return {exception: _negotiated(handler) for exception, handler in handlers.items()}
