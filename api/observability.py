"""Watching the service: a request id, a log line and metrics per request, and /metrics.

`observe_requests` wraps the app's ASGI handler, so it sees every answer, also those given
before routing (404) or by middleware (401 from authentication, 429 from the limits).
The metrics themselves are defined in ledger/metrics.py; the lags are read at scrape time.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from litestar import Litestar, Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from api.errors import error_code, event_id_of
from api.logs import REQUEST_ID
from api.security import bearer_token
from ledger import metrics
from ledger.domain.access import Principal
from ledger.services.lag import Lag, projector_lag, sealer_lag

log = logging.getLogger("greenledger.request")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The text format every Prometheus 2.x and 3.x reads (Litestar adds the charset); the names
# here need none of format 1.0.0's escaping.
TEXT_FORMAT = "text/plain; version=0.0.4"
# Where the error handlers leave the code they answered with, for the request's log line.
OUTCOME = "greenledger.outcome"
# An `X-Request-ID` from the client (or a proxy) is kept if it looks like an id; else one is made.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


# --- every request ----------------------------------------------------------------------------


def observe_requests(app: Litestar) -> None:
    app.asgi_handler = _Observed(app.asgi_handler)


class _Observed:
    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.inner(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        context = REQUEST_ID.set(request_id)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.inner(scope, receive, send_with_id)
        finally:
            try:
                _answered(scope, status, time.perf_counter() - started)
            finally:
                REQUEST_ID.reset(context)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return uuid.uuid4().hex


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _answered(scope: HTTPScope, status: int, seconds: float) -> None:
    """The request's metrics and its one log line."""
    route = scope.get("path_template") or "unmatched"  # never the raw path: no label explosion
    method = scope["method"] if scope["method"] in _METHODS else "OTHER"  # a client's made-up
    # method would otherwise be a new series each time
    metrics.request_answered(method, route, status, seconds)
    code: str | None = cast(dict[str, Any], scope).get(OUTCOME)
    if code is not None:
        metrics.refused(code)
    services = getattr(scope["app"].state, "services", None)
    if services is not None and (usage := services.db.pool_usage()) is not None:
        metrics.pool(*usage)
    if not log.isEnabledFor(logging.INFO):
        return  # nothing below is needed but for the line
    principal = scope.get("user")
    is_principal = isinstance(principal, Principal)
    log.info(
        "%s %s %d",
        method,
        route,
        status,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "user_id": principal.user_id if is_principal else None,
            "role": principal.role.value if is_principal else None,
            "event_id": _event_id(scope),
            "outcome": code or ("ok" if status < 400 else f"http_{status}"),
        },
    )


def _event_id(scope: Scope) -> str | None:
    try:
        return event_id_of(Request(scope))
    except Exception:  # a log line never fails a request
        return None


Handler = Callable[[Request[Any, Any, Any], Exception], Any]


def recording_codes(handlers: Mapping[Any, Handler]) -> dict[Any, Handler]:
    """The app's exception handlers, each first noting the code it answers with."""

    def recording(handler: Handler) -> Handler:
        def handle(request: Request[Any, Any, Any], exc: Exception) -> Any:
            request.scope[OUTCOME] = error_code(exc)  # type: ignore[literal-required]
            return handler(request, exc)

        return handle

    return {exception: recording(handler) for exception, handler in handlers.items()}


# --- /metrics ---------------------------------------------------------------------------------


@get("/metrics", opt={"public": True}, include_in_schema=False, cache=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus's text format, behind `Authorization: Bearer $GREENLEDGER_METRICS_TOKEN`.
    With no token configured there is nothing here (404): metrics are never public."""
    expected = request.app.state.settings.metrics_token
    if not expected:
        raise NotFoundException()
    given = bearer_token(request.headers.get("authorization"))
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise NotAuthorizedException(
            "the metrics need Authorization: Bearer <GREENLEDGER_METRICS_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(await scrape(request.app), media_type=TEXT_FORMAT)


async def scrape(app: Litestar) -> bytes:
    """Every worker's counters (one process's, unless PROMETHEUS_MULTIPROC_DIR is set), then
    what the database and Redis say now: the lags, and whether each answered."""
    services = app.state.services
    if (usage := services.db.pool_usage()) is not None:
        metrics.pool(*usage)
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    now = CollectorRegistry(auto_describe=False)
    now.register(_Now(await _lags(services)))
    return counted + generate_latest(now)


async def _lags(services: Any) -> list[Metric]:
    families: list[Metric] = []
    try:
        sealer: Lag | None = await sealer_lag(services.clock)
        database_up = 1
    except Exception as error:
        log.warning("metrics: the database did not answer: %s: %s", type(error).__name__, error)
        sealer, database_up = None, 0
    families.append(_gauge("greenledger_database_up", "1 if the database answered", database_up))
    if sealer is not None:
        families += _lag_gauges("sealer", "entries not sealed yet", sealer)
    if services.projector is None:
        return families
    try:
        projector: Lag | None = await projector_lag(services.projector, services.clock)
        redis_up = 1
    except (RedisError, OSError) as error:
        metrics.redis_error("metrics")
        log.warning("metrics: Redis did not answer: %s", error)
        projector, redis_up = None, 0
    except Exception:
        projector, redis_up = None, 1
    families.append(_gauge("greenledger_redis_up", "1 if Redis answered", redis_up))
    if projector is not None:
        families += _lag_gauges("projector", "board facts not applied yet", projector)
    return families


def _lag_gauges(name: str, what: str, lag: Lag) -> list[Metric]:
    unit = "entries" if name == "sealer" else "facts"
    return [
        _gauge(f"greenledger_{name}_pending_{unit}", f"The {name}'s backlog: {what}", lag.pending),
        _gauge(
            f"greenledger_{name}_lag_seconds",
            f"How long the oldest of the {name}'s backlog has waited (0 when none)",
            lag.seconds,
        ),
    ]


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


class _Now(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


# --- workers ----------------------------------------------------------------------------------


def worker_stopped() -> None:
    """At a worker's shutdown: its `livesum` gauges (the pool) stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
