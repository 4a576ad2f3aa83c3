"""Per-address and per-token request limits, counted atomically in Redis across workers."""

from __future__ import annotations

import hashlib
import logging
from typing import Any, cast

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.asyncio.cluster import RedisCluster

from ledger import metrics
from ledger.domain.access import Principal
from ledger.ports import Limiter
from ledger.projections.client import REDIS_FAILURES
from ledger.projections.limits import PendingHits, RedisLimiter
from ledger.services.limits import MemoryLimiter

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
SIGN_IN_PER_ADDRESS_PER_MINUTE = 30
# Writes anyone may send signed out (a volunteer's application, by the API or its page): a few
# a minute per address, so that nobody fills the coordinators' list or probes numbers in bulk.
PUBLIC_WRITES = frozenset({"/api/v1/volunteers/applications", "/volunteer/apply"})
PUBLIC_WRITES_PER_ADDRESS_PER_MINUTE = 10
EXEMPT = ("/health", "/static/", "/schema")
# Guesses of a secret (a password, a PIN, a household's join code): their own, smaller
# allowance per address, besides the one every request counts against.
SIGN_IN_PATHS = frozenset({"/api/v1/auth/token", "/api/v1/households/join"})
# Where the address stage leaves its checks for the caller stage (see _defer_to_caller).
DEFERRED = "greenledger.address_checks"
# A token must stay valid this much longer for its address checks to be deferred.
DEFER_MARGIN_SECONDS = 5.0
# A route handler's opt key: its request's counters ride in the pipeline of the handler's
# Redis read (a board page), one round trip for both (see Riding).
RIDES_WITH_READ = "limits_ride_with_read"
# Where the request's Riding waits for the caller stage and the handler.
RIDING = "greenledger.riding_limits"


class RateLimitMiddleware(ASGIMiddleware):
    """429 `rate_limited` with Retry-After past the limit. If Redis (or a Redis Cluster) fails,
    each worker counts in its own memory until it is back (a warning each time): a limiter must
    never take the service down with it, nor silently stop limiting.

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
            if self.stage == "address" and _rides_with_read(scope):
                riding = Riding(scope, self._address_checks(scope, path))
                await riding.run(scope, receive, send, next_app)
                return
            await self._check(scope, path)
        await next_app(scope, receive, send)

    async def _check(self, scope: Scope, path: str) -> None:
        limiter = scope["app"].state.services.limiter
        checks = self._address_checks(scope, path) if self.stage == "address" else []
        if self.stage == "address" and _defer_to_caller(scope, limiter):
            cast(dict[str, Any], scope)[DEFERRED] = checks
            return
        if self.stage == "caller":
            checks = cast(dict[str, Any], scope).pop(DEFERRED, [])
        principal = scope.get("user")
        if self.stage == "caller" and isinstance(principal, Principal):
            checks.append((caller_key(principal), self.per_minute))
        elif self.stage == "caller" and (token := _bearer(scope)):
            checks.append((f"token:{hashlib.sha256(token).hexdigest()[:24]}", self.per_minute))
        riding: Riding | None = cast(dict[str, Any], scope).get(RIDING)
        if riding is not None and not riding.hits.sent:
            riding.join(checks)
            return
        try:
            await _count(limiter, checks, self.stage)
        except REDIS_FAILURES as error:
            metrics.redis_error("limiter")
            log.warning("rate limits counted per worker while Redis fails: %s", error)
            await _count(local_limits(scope["app"]), checks, self.stage)

    def _address_checks(self, scope: Scope, path: str) -> list[tuple[str, int]]:
        address = (scope.get("client") or ("unknown", 0))[0]
        checks = [(f"addr:{address}", self.per_minute)]
        if path in SIGN_IN_PATHS or path.startswith("/join/"):
            checks.append((f"signin-addr:{address}", SIGN_IN_PER_ADDRESS_PER_MINUTE))
        if path.rstrip("/") in PUBLIC_WRITES and scope.get("method") == "POST":
            checks.append((f"public-write-addr:{address}", PUBLIC_WRITES_PER_ADDRESS_PER_MINUTE))
        return checks


class Riding:
    """A board read's counters, sent with its Redis read (ledger/projections/limits.py,
    PendingHits): the address stage's, then the caller stage's, in one call, as the deferred
    checks above are. They are counted exactly as if counted up front, and no answer leaves
    without them: if the handler's read did not send them (an error before it, an answer from
    SQL, a Redis failure), they are counted before the first byte of the response (or of the
    error), and past the limit a 429 goes out instead."""

    def __init__(self, scope: Scope, checks: list[tuple[str, int]]) -> None:
        self.app = scope["app"]
        limiter = cast(RedisLimiter, self.app.state.services.limiter)
        self.stage = "address"
        self.hits = limiter.hits_to_send(checks, WINDOW_SECONDS, self._refuse)
        cast(dict[str, Any], scope)[RIDING] = self

    def join(self, checks: list[tuple[str, int]]) -> None:
        """The caller stage's counters, after the address's."""
        if checks:
            self.stage = "caller"
            self.hits.add(checks)

    async def run(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_counted(message: Any) -> None:
            if message["type"] == "http.response.start" and not self.hits.sent:
                await self.count()
            await send(message)

        try:
            await next_app(scope, receive, send_counted)
        except Exception:
            if not self.hits.sent:
                await self.count()  # past the limit, the 429 replaces the error
            raise

    async def count(self) -> None:
        """Count the hits on their own (one round trip), as a stage does."""
        self.hits.sent = True
        checks = self.hits.checks
        try:
            await _count(self.app.state.services.limiter, checks, self.stage)
        except REDIS_FAILURES as error:
            metrics.redis_error("limiter")
            log.warning("rate limits counted per worker while Redis fails: %s", error)
            await _count(local_limits(self.app), checks, self.stage)

    def _refuse(self, retry_after: int) -> None:
        metrics.rate_limited(self.stage)
        raise _too_many(retry_after)


def hits_for_read(scope: Scope) -> PendingHits | None:
    """The request's counters for its handler's Redis read to send, if still unsent."""
    riding: Riding | None = cast(dict[str, Any], scope).get(RIDING)
    return riding.hits if riding is not None and not riding.hits.sent else None


def _rides_with_read(scope: Scope) -> bool:
    """Whether this request's counters may ride with its handler's Redis read: the route says
    so, and the limiter is one Redis server's (a cluster cannot pipeline the scripts)."""
    handler = scope.get("route_handler")
    if handler is None or not handler.opt.get(RIDES_WITH_READ):
        return False
    limiter = scope["app"].state.services.limiter
    return isinstance(limiter, RedisLimiter) and not isinstance(limiter.redis, RedisCluster)


def address_limits_first(per_minute: int) -> Any:
    """An on_app_init hook: the address stage goes in front of the authentication middleware."""

    def hook(app_config: Any) -> Any:
        app_config.middleware.insert(0, RateLimitMiddleware(per_minute, "address"))
        return app_config

    return hook


def caller_key(principal: Principal) -> str:
    return f"user:{principal.user_id}"


async def events_within_limit(app: Litestar, principal: Principal, events: int) -> tuple[int, int]:
    """How many of a batch's events, the first ones, fall within the caller's allowance, and
    the seconds until its window ends. Each event counts as a request; the middleware has
    counted the batch's request as its first event."""
    per_minute = app.state.settings.rate_limit_per_minute
    if per_minute <= 0 or events <= 1:
        return events, 0
    limiter = app.state.services.limiter
    key = caller_key(principal)
    try:
        granted, retry_after = await limiter.take(key, WINDOW_SECONDS, events - 1, per_minute)
    except REDIS_FAILURES as error:
        metrics.redis_error("limiter")
        log.warning("rate limits counted per worker while Redis fails: %s", error)
        granted, retry_after = await local_limits(app).take(
            key, WINDOW_SECONDS, events - 1, per_minute
        )
    if 1 + granted < events:
        metrics.rate_limited("batch", events - 1 - granted)
    return 1 + granted, retry_after


async def _count(limiter: Limiter, checks: list[tuple[str, int]], stage: str) -> None:
    """Count every check (one round trip to Redis); TooManyRequestsException at the first past
    its limit, the later ones not counted."""
    if not checks:
        return
    retry_after = await limiter.hit_many(checks, WINDOW_SECONDS)
    if retry_after is not None:
        metrics.rate_limited(stage)
        raise _too_many(retry_after)


def local_limits(app: Litestar) -> MemoryLimiter:
    """This worker's own counters, used while Redis fails (per worker, so N workers allow up to
    N times the limit then; the sign-in locks do the same, ledger/services/users.py)."""
    local: MemoryLimiter | None = app.state.get("local_limits")
    if local is None:
        local = app.state["local_limits"] = MemoryLimiter()
    return local


def _too_many(retry_after: int) -> TooManyRequestsException:
    return TooManyRequestsException(
        f"too many requests; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def _defer_to_caller(scope: Scope, limiter: Limiter) -> bool:
    """Whether the address stage may leave its counting to the caller stage, which then counts
    the address first and the caller second in one Redis round trip instead of two.

    Only when authentication cannot refuse the request, so the caller stage surely runs and the
    address is counted exactly as before: the request has exactly one Authorization header, a
    bearer token this process has verified (api/security.py, VerifiedTokens) that stays valid
    for DEFER_MARGIN_SECONDS more; the authentication middleware reads that same header, finds
    the same entry a moment later and lets the request through without an await in between
    (the token's revocation state comes from the same local copy, see _known_unrevoked).
    A request with a bad, unknown or second token is counted here, before authentication."""
    if not limiter.shared:  # in memory, counting costs no round trip
        return False
    headers = [value for name, value in scope.get("headers", []) if name == b"authorization"]
    if len(headers) != 1 or not headers[0].lower().startswith(b"bearer "):
        return False
    jwt_auth = getattr(scope["app"].state, "jwt_auth", None)
    verified = getattr(jwt_auth, "verified", None)
    if verified is None:
        return False
    token = bytes(headers[0]).partition(b" ")[2].decode("latin-1")
    known = verified.token(token, margin=DEFER_MARGIN_SECONDS) if token else None
    return known is not None and _known_unrevoked(scope, known)


def _known_unrevoked(scope: Scope, token: Any) -> bool:
    """This process's copy of the user's token state admits the token, without a wait: a
    revoked token must be refused by authentication, so its address is counted here."""
    state = scope["app"].state.services.sessions.known(int(token.sub))
    return state is not None and bool(
        state.admits(token.extras.get("ver"), token.extras.get("sid"))
    )


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.lower().startswith(b"bearer "):
            return bytes(value[7:])
    return None
