"""Liveness of the database and Redis (/health), and the probes of an orchestrator:
/health/live (the process answers) and /health/ready (it can serve: 503 with the reasons if not)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.schemas import Health, Liveness, Readiness
from ledger.projections.client import REDIS_FAILURES
from ledger.services.lag import projector_lag, sealer_lag
from ledger.store.engine import ping
from ledger.store.migrate import pending_migrations


@get("/health", operation_id="Health", tags=["health"], opt={"public": True})
async def health(request: Request[Any, Any, Any]) -> Health:
    """`redis` is "absent" when none is configured (the embedded default)."""
    try:
        await ping()
        database = "ok"
    except (OSError, ConnectionError):
        database = "down"
    redis = request.app.state.redis
    if redis is None:
        redis_state = "absent"
    else:
        try:
            await redis.ping()
            redis_state = "ok"
        except REDIS_FAILURES:
            redis_state = "down"
    return Health(database=database, redis=redis_state)  # type: ignore[arg-type]


@get("/health/live", operation_id="HealthLive", tags=["health"], opt={"public": True}, cache=False)
async def live() -> Liveness:
    """The process answers; it looks at nothing else (a restart cures nothing else)."""
    return Liveness(status="live")


@get(
    "/health/ready",
    operation_id="HealthReady",
    tags=["health"],
    opt={"public": True},
    cache=False,
    responses={503: ResponseSpec(Readiness, description="not ready; `reasons` says why")},
)
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    """Ready to serve: the database answers, its schema is current (every migration applied),
    and Redis answers if one is configured (with none, it is not needed). The sealer's and
    the projector's lag are reported, and do not make the process unready."""
    services = request.app.state.services
    reasons: list[str] = []
    database, sealer = "ok", None
    migrations, pending = "unknown", []
    try:
        await ping()
        sealer = await sealer_lag(services.clock)
        pending = await _pending_migrations(request.app.state)
        migrations = "pending" if pending else "current"
    except Exception:
        database = "down"
        reasons.append("database_down")
    if pending:
        reasons.append("migrations_pending")
    redis, projector = "absent", None
    if request.app.state.redis is not None:
        try:
            await request.app.state.redis.ping()
            redis = "ok"
            if database == "ok" and services.projector is not None:
                projector = await projector_lag(services.projector, services.clock)
        except REDIS_FAILURES:
            redis = "down"
            reasons.append("redis_down")
    body = Readiness(
        ready=not reasons,
        reasons=reasons,
        database=database,  # type: ignore[arg-type]
        migrations=migrations,  # type: ignore[arg-type]
        pending_migrations=pending,
        redis=redis,  # type: ignore[arg-type]
        sealer=sealer,
        projector=projector,
    )
    return Response(body, status_code=503 if reasons else 200)


async def _pending_migrations(state: Any) -> list[str]:
    """Once current, the schema stays so for the life of the app: not read again."""
    if getattr(state, "schema_current", False):
        return []
    pending = await pending_migrations()
    state.schema_current = not pending
    return pending
