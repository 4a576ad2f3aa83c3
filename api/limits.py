"""Per-address and per-token request limits, counted atomically in Redis across workers."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.exceptions import RedisError

from ledger.domain.access import Principal

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
SIGN_IN_PER_ADDRESS_PER_MINUTE = 30
EXEMPT = ("/health", "/static/", "/schema")


class RateLimitMiddleware(ASGIMiddleware):
    """429 `rate_limited` with Retry-After past the limit. If Redis fails, requests pass: a
    limiter must never take the service down with it.

    Two stages: `address` runs before authentication (so bad tokens and sign-in attempts are
    counted too), `caller` after it (so a signed-in caller is counted per user)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, per_minute: int, stage: str = "caller") -> None:
        assert stage in ("address", "caller")
        self.per_minute = per_minute
        self.stage = stage

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"]
        if self.per_minute > 0 and not path.startswith(EXEMPT):
            await self._check(scope, path)
        await next_app(scope, receive, send)

    async def _check(self, scope: Scope, path: str) -> None:
        limiter = scope["app"].state.services.limiter
        checks = self._address_checks(scope, path) if self.stage == "address" else []
        principal = scope.get("user")
        if self.stage == "caller" and isinstance(principal, Principal):
            checks.append((f"user:{principal.user_id}", self.per_minute))
        elif self.stage == "caller" and (token := _bearer(scope)):
            checks.append((f"token:{hashlib.sha256(token).hexdigest()[:24]}", self.per_minute))
        try:
            for key, limit in checks:
                hits, retry_after = await limiter.hit(key, WINDOW_SECONDS)
                if hits > limit:
                    raise TooManyRequestsException(
                        f"too many requests; try again in {retry_after} s",
                        headers={"Retry-After": str(retry_after)},
                    )
        except (RedisError, OSError) as error:
            log.warning("rate limits off while Redis is unavailable: %s", error)

    def _address_checks(self, scope: Scope, path: str) -> list[tuple[str, int]]:
        address = (scope.get("client") or ("unknown", 0))[0]
        checks = [(f"addr:{address}", self.per_minute)]
        if path == "/api/v1/auth/token":
            checks.append((f"signin-addr:{address}", SIGN_IN_PER_ADDRESS_PER_MINUTE))
        return checks


def address_limits_first(per_minute: int) -> Any:
    """An on_app_init hook: the address stage goes in front of the authentication middleware."""

    def hook(app_config: Any) -> Any:
        app_config.middleware.insert(0, RateLimitMiddleware(per_minute, "address"))
        return app_config

    return hook


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.lower().startswith(b"bearer "):
            return bytes(value[7:])
    return None
