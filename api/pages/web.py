"""What every page shares: the sign-in cookie, CSRF, security headers (errors: errors.py)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import (
    NotAuthorizedException,
)
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import Template
from litestar.security.jwt import Token
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.security import (
    AUTH_COOKIE,
    bearer_token,
    principal_from_token,
    principal_of,
    token_counts,
)
from api.settings import Settings
from ledger.domain.access import Principal, Role

CSRF_COOKIE = "gl_csrf"
CSRF_HEADER = "x-csrftoken"
HOME_BY_ROLE = {
    Role.RESIDENT: "/home",
    Role.INSPECTOR: "/inspector",
    Role.CLERK: "/counter",
    Role.VOLUNTEER: "/volunteer",
    Role.COORDINATOR: "/coordinator",
    Role.ADMIN: "/staff",
}
# No external source anywhere: the pages work on a closed network and leak nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# piccolo-admin's SPA: the same, but its icons' library adds a <style> element at run time.
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
# A chart or QR code opened on its own: its inline styles, never a script (an SVG can carry
# one).
SVG_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)
# The printable documents under /api (QR sheet, certificate): no script at all, their own
# inline <style> (api/templates/base.html), nothing from elsewhere.
API_DOCUMENT_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def new_event_id() -> str:
    """Rendered into each form: a re-sent form replays instead of acting twice."""
    return str(uuid.uuid4())


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.derived_key("csrf").hex(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_httponly=True,
        cookie_secure=settings.base_url.startswith("https://"),
        cookie_samesite="lax",
        exclude=["^/admin"],  # piccolo-admin has its own CSRF cookie and header
    )


class CSRFGate:
    """Litestar's CSRF check, for every request a browser's cookie could authorise.

    An API call with a well-formed `Authorization: Bearer <token>` header, or without the
    sign-in cookie, cannot be forged by another site, so `/api/` requests like that pass
    untouched; the same `/api/` request riding on the cookie (the inspector page's offline
    sync) must carry the header. Any other Authorization header gets the CSRF check (and
    authentication never falls back to the cookie when one is present, api/security.py).
    """

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        self.app = app
        self.csrf = CSRFMiddleware(app, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith("/api/"):
            headers = Headers.from_scope(scope)
            if (
                bearer_token(headers.get("authorization"))
                or AUTH_COOKIE not in ASGIConnection(scope).cookies  # read only if needed
            ):
                await self.app(scope, receive, send)
                return
        await self.csrf(scope, receive, send)


class SecurityHeadersMiddleware(ASGIMiddleware):
    """nosniff and a referrer policy on every response; a CSP and no framing on every HTML or
    SVG one, wherever it comes from (pages, /admin, /schema, charts under /api); no caching
    of pages outside /api. A handler's own CSP (a photo's) is kept."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        # raw_path: a mount (/admin) sees its own path rewritten to "/".
        path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableScopeHeaders.from_message(message), path)
            await send(message)

        await next_app(scope, receive, send_wrapper)


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_REFERRER_POLICY = (b"referrer-policy", b"same-origin")


def add_security_headers(headers: MutableScopeHeaders, path: str) -> None:
    # One pass over the raw list; the usual response has neither header yet, and gets both
    # appended exactly as MutableScopeHeaders' setter would append them.
    found: str | None = None
    either_set = False
    for name, value in headers.headers:
        lowered = name.lower()
        if lowered == b"content-type" and found is None:
            found = value.decode("latin-1")
        elif lowered == _NOSNIFF[0] or lowered == _REFERRER_POLICY[0]:
            either_set = True
    if either_set:
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
    else:
        headers.headers += (_NOSNIFF, _REFERRER_POLICY)
    add_document_headers(headers, found or "", path)


def add_document_headers(headers: MutableScopeHeaders, content_type: str, path: str) -> None:
    """What a document a browser runs (HTML, SVG) gets besides: its CSP (unless the handler
    set one), no framing, and no caching of pages outside /api."""
    policy = content_security_policy(content_type, path)
    if policy is None:
        return
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = policy
    headers["X-Frame-Options"] = "DENY"
    if content_type.startswith("text/html") and not path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"


def content_security_policy(content_type: str, path: str) -> str | None:
    """The policy for a document of this type, None for what a browser never runs."""
    if content_type.startswith("image/svg+xml"):
        return SVG_CONTENT_SECURITY_POLICY
    if not content_type.startswith("text/html"):
        return None
    if path == "/admin" or path.startswith("/admin/"):
        return ADMIN_CONTENT_SECURITY_POLICY
    if path.startswith("/api/"):
        return API_DOCUMENT_CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY


def auth_cookie(token: str, settings: Settings) -> Cookie:
    return Cookie(
        key=AUTH_COOKIE,
        value=token,
        max_age=settings.token_ttl_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def expired_auth_cookie() -> Cookie:
    return Cookie(key=AUTH_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")


def signed_token(request: Request[Any, Any, Any]) -> Token | None:
    """The sign-in cookie's token if we signed it and it has not expired (revoked or not)."""
    encoded = request.cookies.get(AUTH_COOKIE, "").split(" ")[-1]
    if not encoded:
        return None
    auth = request.app.state.jwt_auth
    try:
        return Token.decode(
            encoded_token=encoded, secret=auth.token_secret, algorithm=auth.algorithm
        )
    except NotAuthorizedException:
        return None


async def viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """Who is looking at a public page, from the sign-in cookie; None when nobody valid is."""
    token = signed_token(request)
    if token is None:
        return None
    try:
        principal = await principal_from_token(token, request)
    except NotAuthorizedException:
        return None
    return principal if await token_counts(token, request) else None


def signed_in(request: Request[Any, Any, Any]) -> Principal | None:
    """Who the error page greets: the authenticated user when authentication ran (revocation
    checked), else the cookie's unexpired token as it reads (an address that matches no route
    runs no middleware, and an exception handler cannot wait on the revocation check). Only
    for display: nothing is decided from it."""
    if isinstance(user := request.scope.get("user"), Principal):
        return user
    token = signed_token(request)
    if token is None:
        return None
    try:
        return principal_of(token)
    except NotAuthorizedException:
        return None


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never `//evil.example` or `https://…`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def render(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=f"pages/{name}", context=context, status_code=status_code)
