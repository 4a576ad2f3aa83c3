"""Liveness of the database and Redis."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from api.schemas import Health
from ledger.projections.client import REDIS_FAILURES
from ledger.store.engine import ping


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
