"""Bearer tokens and role guards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components
from litestar.security.jwt import JWTAuth, JWTCookieAuth, Token

from api.settings import Settings
from ledger.domain.access import Principal, Role

# The pages' browser carries the same JWT as API clients, in this HttpOnly, SameSite=Lax cookie.
AUTH_COOKIE = "gl_token"

# Anchored: Litestar's excludes are regexes matched anywhere in the path (notes/STACK.md P6).
PUBLIC_PATHS = [
    r"^/api/v1/auth/token$",
    r"^/health$",
    r"^/schema(/.*)?$",
    r"^/q/",
    r"^/api/v1/leaderboards",
    r"^/static/",
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
    }


async def principal_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The token carries everything access checks need; no database read per request."""
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
        )
    except (KeyError, ValueError, TypeError) as error:
        raise NotAuthorizedException("the token's claims are not valid") from error


class BearerOrCookieAuth(JWTCookieAuth[Principal, Token]):
    """`Authorization: Bearer` first (API clients), else the sign-in cookie (the pages).
    The OpenAPI document keeps describing the bearer header."""

    @property
    def openapi_components(self) -> Components:
        components: Components = JWTAuth.openapi_components.fget(self)  # type: ignore[attr-defined]
        return components


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
    """A guard admitting only the given roles."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.user
        if not isinstance(principal, Principal):
            raise NotAuthorizedException("sign in first")
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise PermissionDeniedException(f"this needs one of the roles: {names}")

    return guard


ADMIN_ONLY = [requires(Role.ADMIN)]
ANY_ROLE = [requires(*Role)]
