"""Bearer tokens and role guards."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import Components
from litestar.security.jwt import (
    JWTAuth,
    JWTCookieAuth,
    JWTCookieAuthenticationMiddleware,
    Token,
)

from api.settings import Settings
from ledger.domain.access import Principal, Role
from ledger.services.sessions import new_session_id
from ledger.services.users import SignedIn

# The pages' browser carries the same JWT as API clients, in this HttpOnly, SameSite=Lax cookie.
AUTH_COOKIE = "gl_token"

# Anchored: Litestar's excludes are regexes matched anywhere in the path (unanchored,
# "/health" would also exempt "/admin/health-report").
PUBLIC_PATHS = [
    r"^/api/v1/auth/token$",
    r"^/api/v1/households/join$",
    r"^/health$",
    r"^/schema(/.*)?$",
    r"^/q/",
    r"^/api/v1/leaderboards",
    r"^/api/v1/chain/key$",
    r"^/api/v1/chain/heads$",
    r"^/log$",
    r"^/log/check$",
    r"^/static/",
    r"^/swagger-ui/",
    r"^/$",
]


def principal_claims(principal: Principal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role.value,
        "household_id": principal.household_id,
        "volunteer_id": principal.volunteer_id,
        "compound_ids": sorted(principal.compound_ids),
        "account_ids": sorted(principal.account_ids),
        "household_ids": sorted(principal.household_ids),
        "helping": sorted(principal.helping),
        "name": principal.display_name,
    } | rotation_claims(principal)


def rotation_claims(principal: Principal) -> dict[str, Any]:
    """An inspector's rotation plan for the weeks the token can grade in (issue 19); none for
    other roles, whose tokens stay as they were."""
    if principal.rotation_span is None:
        return {}
    first, last = principal.rotation_span
    return {
        "rotation_span": [first.isoformat(), last.isoformat()],
        "rotation": {week.isoformat(): sorted(c) for week, c in principal.rotation},
    }


def _rotation_of(claims: dict[str, Any]) -> dict[str, Any]:
    span = claims.get("rotation_span")
    if span is None:
        return {}
    first, last = (date.fromisoformat(str(day)) for day in span)
    rotation = tuple(
        (date.fromisoformat(str(week)), frozenset(int(c) for c in compounds))
        for week, compounds in sorted(dict(claims.get("rotation", {})).items())
    )
    return {"rotation": rotation, "rotation_span": (first, last)}


def session_claims(token_version: int) -> dict[str, Any]:
    """The user's token version when signed in and this token's own session id: what
    revocation checks on every request (ledger/services/sessions.py)."""
    return {"ver": token_version, "sid": new_session_id()}


def issue_token(connection: ASGIConnection[Any, Any, Any, Any], signed_in: SignedIn) -> str:
    """A new token (a new session) for a `Users.sign_in` result."""
    auth = connection.app.state.jwt_auth
    claims = principal_claims(signed_in.principal) | session_claims(signed_in.token_version)
    token: str = auth.create_token(identifier=str(signed_in.principal.user_id), token_extras=claims)
    return token


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The caller's address as the server saw it: the proxy's forwarding header only counts
    from GREENLEDGER_TRUSTED_PROXIES (uvicorn's proxy-headers middleware, api/cli.py)."""
    return connection.client.host if connection.client else "unknown"


def bearer_token(header: str | None) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>`, else None."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


async def principal_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The token carries everything access checks need; no database read per request."""
    return principal_of(token)


def principal_of(token: Token) -> Principal:
    claims = token.extras
    try:
        return Principal(
            user_id=int(token.sub),
            username=str(claims["username"]),
            role=Role(claims["role"]),
            household_id=claims.get("household_id"),
            volunteer_id=claims.get("volunteer_id"),
            compound_ids=frozenset(int(c) for c in claims.get("compound_ids", [])),
            account_ids=frozenset(int(a) for a in claims.get("account_ids", [])),
            household_ids=frozenset(int(h) for h in claims.get("household_ids", [])),
            helping=frozenset(int(h) for h in claims.get("helping", [])),
            display_name=str(claims.get("name", "")),
            **_rotation_of(claims),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise NotAuthorizedException("the token's claims are not valid") from error


VERIFIED_TOKENS_MAX = 4096


class VerifiedTokens:
    """Tokens this process has verified, with what they decoded to, until they expire.

    A token's signature, claims and the Principal built from them are a pure function of its
    text (principal_from_token reads no database), so a token seen well-formed once decodes to
    the same Principal until `exp`; then it is dropped and decoded again, which refuses it.
    Whether it was revoked since is not a function of its text: the middleware asks
    Sessions on every request, cached entry or not. Keyed by the whole token text: a token
    differing in any byte is verified from scratch. Bounded: the oldest entry goes first.
    """

    def __init__(
        self, size_max: int = VERIFIED_TOKENS_MAX, clock: Callable[[], float] = time.time
    ) -> None:
        self.size_max = size_max
        self.clock = clock
        self._entries: dict[str, tuple[float, AuthenticationResult]] = {}

    def get(self, encoded: str) -> AuthenticationResult | None:
        entry = self._entries.get(encoded)
        if entry is None:
            return None
        if self.clock() >= entry[0]:  # PyJWT refuses a token at or after its `exp`
            self._entries.pop(encoded, None)
            return None
        return entry[1]

    def principal(self, encoded: str, margin: float = 0.0) -> Principal | None:
        """The Principal of a verified token still valid `margin` seconds from now."""
        result = self._valid_for(encoded, margin)
        user = None if result is None else result.user
        return user if isinstance(user, Principal) else None

    def token(self, encoded: str, margin: float = 0.0) -> Token | None:
        """The decoded token, on the same terms as `principal`."""
        result = self._valid_for(encoded, margin)
        token = None if result is None else result.auth
        return token if isinstance(token, Token) else None

    def _valid_for(self, encoded: str, margin: float) -> AuthenticationResult | None:
        """The verified token's result if it is still valid `margin` seconds from now."""
        entry = self._entries.get(encoded)
        if entry is None or self.clock() + margin >= entry[0]:
            return None
        return entry[1]

    def put(self, encoded: str, result: AuthenticationResult) -> None:
        token = result.auth
        if not isinstance(token, Token):
            return
        while len(self._entries) >= self.size_max:
            self._entries.pop(next(iter(self._entries)))
        self._entries[encoded] = (token.exp.timestamp(), result)


class CachingJWTCookieMiddleware(JWTCookieAuthenticationMiddleware):
    """Litestar's JWT middleware, answering tokens it has verified before from VerifiedTokens,
    and refusing tokens revoked since (Sessions, asked on every request)."""

    def __init__(self, *, verified: VerifiedTokens, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verified = verified

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The bearer token if there is an Authorization header (and only a well-formed one),
        else the cookie: a request with a header never rides on the cookie, so a forged
        request with a junk header cannot borrow the browser's session past the CSRF check."""
        header = connection.headers.get(self.auth_header)
        if header is not None:
            encoded = bearer_token(header)
        else:
            encoded = connection.cookies.get(self.auth_cookie_key, "").split(" ")[-1] or None
        if not encoded:
            raise NotAuthorizedException("no valid bearer token or sign-in cookie")
        return await self.authenticate_token(encoded_token=encoded, connection=connection)

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        result = self.verified.get(encoded_token)
        if result is None:
            result = await super().authenticate_token(encoded_token, connection)
            self.verified.put(encoded_token, result)
        if not await token_counts(result.auth, connection):
            raise NotAuthorizedException("this token was revoked; sign in again")
        return result


async def token_counts(token: Any, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Not revoked: its user's token version and not signed out (ledger/services/sessions.py).
    A local cache answers most requests without waiting for Redis or the database."""
    if not isinstance(token, Token):
        return False
    sessions = connection.app.state.services.sessions
    extras = token.extras
    return bool(await sessions.admits(int(token.sub), extras.get("ver"), extras.get("sid")))


@dataclass
class BearerOrCookieAuth(JWTCookieAuth[Principal, Token]):
    """`Authorization: Bearer` first (API clients), else the sign-in cookie (the pages).
    The OpenAPI document keeps describing the bearer header."""

    verified: VerifiedTokens = field(default_factory=VerifiedTokens)

    @property
    def openapi_components(self) -> Components:
        components: Components = JWTAuth.openapi_components.fget(self)  # type: ignore[attr-defined]
        return components

    @property
    def middleware(self) -> DefineMiddleware:
        define = super().middleware
        return DefineMiddleware(
            CachingJWTCookieMiddleware, *define.args, verified=self.verified, **define.kwargs
        )


def make_jwt_auth(settings: Settings) -> JWTCookieAuth[Principal, Token]:
    return BearerOrCookieAuth(
        retrieve_user_handler=principal_from_token,
        token_secret=settings.derived_key("jwt").hex(),
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        exclude=PUBLIC_PATHS,
        exclude_opt_key="public",
        key=AUTH_COOKIE,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def requires(*roles: Role) -> Any:
    """A guard admitting only the given roles.

    OPTIONS passes: Litestar answers it on every path with its own handler (204 and the `Allow`
    list, reading and writing nothing), its auth middleware skips that method on purpose, and a
    controller's guards still run on it (litestar#2314) -- where there is no user to read.
    tests/api/test_methods.py checks that no route of ours answers OPTIONS itself."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # async: Litestar runs a plain-function guard in its thread pool, a thread hop per request
        if cast("dict[str, Any]", connection.scope)["method"] == "OPTIONS":
            return  # Litestar's own 204 + Allow, which it never authenticates (see below)
        principal = connection.user
        if not isinstance(principal, Principal):
            raise NotAuthorizedException("sign in first")
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise PermissionDeniedException(f"this needs one of the roles: {names}")

    return guard


ADMIN_ONLY = [requires(Role.ADMIN)]
ANY_ROLE = [requires(*Role)]
