"""What the service counts, in Prometheus's terms (served at /metrics, api/observability.py).

Every metric is defined here and only here; the seams that already exist call the small
functions below (the request wrapper, the runner, the sealer and projector loops, the limiter,
the places that absorb a Redis failure). Multi-process safe: when PROMETHEUS_MULTIPROC_DIR is
set before prometheus_client is first imported (`greenledger serve --workers N` does it), each
worker writes its numbers to a file there and a scrape of any worker adds them all up.
Lags (sealer, projector) are not here: they are read from the database at scrape time, the
same for every worker.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, write_to_textfile

log = logging.getLogger("greenledger.steps")
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "greenledger_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "greenledger_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=_SECONDS,
)
WRITES = Counter(
    "greenledger_writes_total",
    "Writes answered (credits, spending, registry changes...), by operation and outcome: "
    "ok or the refusal's code; a resent event_id counts again",
    ["operation", "outcome"],
)
REFUSALS = Counter(
    "greenledger_refusals_total",
    "Error answers, by their code (invalid_credentials, rate_limited, insufficient_points...)",
    ["code"],
)
BATCH_EVENTS = Histogram(
    "greenledger_batch_events",
    "Events per batch: events:batch requests, and gradings written together as one group",
    ["kind"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
GRADING_GROUP = Histogram(
    "greenledger_grading_group_size",
    "Gradings written together in one transaction by a worker's committer",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024),
)
GRADING_WAIT = Histogram(
    "greenledger_grading_wait_seconds",
    "Time from a grading's arrival at the committer to the start of its group's transaction",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)
STEPS = Counter(
    "greenledger_background_steps_total",
    "Sealer and projector passes that did work or failed, by step and outcome",
    ["step", "outcome"],
)
STEP_ITEMS = Counter(
    "greenledger_background_items_total",
    "Items handled by the background steps: entries sealed, facts numbered, facts applied",
    ["step", "item"],
)
STEP_SECONDS = Histogram(
    "greenledger_background_step_duration_seconds",
    "Time of one sealer or projector pass that did work",
    ["step"],
    buckets=_SECONDS,
)
POOL = Gauge(
    "greenledger_db_pool_connections",
    "PostgreSQL pool connections of the live workers: in_use and open",
    ["state"],
    multiprocess_mode="livesum",
)
REDIS_ERRORS = Counter(
    "greenledger_redis_errors_total",
    "Redis failures absorbed (the service went on without Redis), by where",
    ["where"],
)
RATE_LIMITED = Counter(
    "greenledger_rate_limited_total",
    "Requests (or batch events) refused by the rate limits, by stage",
    ["stage"],
)
LOCKOUTS = Counter(
    "greenledger_sign_in_lockouts_total",
    "Sign-in attempts refused unchecked because the name or address is locked",
)
_VERIFY_OK = (
    "greenledger_verify_ok",
    "1 if the last verify (balances and hash chain) passed, 0 if it failed",
)
_VERIFY_TIME = ("greenledger_verify_last_run_timestamp_seconds", "When verify last ran (Unix time)")
VERIFY_OK = Gauge(*_VERIFY_OK, multiprocess_mode="mostrecent")
VERIFY_TIME = Gauge(*_VERIFY_TIME, multiprocess_mode="mostrecent")


@functools.cache
def _series(metric: Any, *labels: str) -> Any:
    """A metric's series for these labels, as `labels()` returns it (the same object every
    time; the lookup validates and locks on each call), kept. As bounded as the metrics
    themselves: routes are templates, never raw paths, and outcomes the ledger's own codes."""
    return metric.labels(*labels)


def request_answered(method: str, route: str, status: int, seconds: float) -> None:
    _series(REQUESTS, method, route, str(status)).inc()
    _series(REQUEST_SECONDS, method, route).observe(seconds)


def write_answered(operation: str, outcome: str) -> None:
    _series(WRITES, operation, outcome).inc()


def refused(code: str) -> None:
    REFUSALS.labels(code).inc()


def batch(kind: str, events: int) -> None:
    BATCH_EVENTS.labels(kind).observe(events)


def grading_group(size: int, waits: list[float]) -> None:
    """A committer's group: how many gradings it wrote, and how long each waited for it."""
    GRADING_GROUP.observe(size)
    for seconds in waits:
        GRADING_WAIT.observe(seconds)


def step_done(step: str, started: float, **items: int) -> None:
    """A background pass that did work (`started`: its time.perf_counter()): one log line with
    the counts and the duration, and its metrics. Idle passes, every half second, are neither
    logged nor counted."""
    seconds = time.perf_counter() - started
    STEPS.labels(step, "ok").inc()
    STEP_SECONDS.labels(step).observe(seconds)
    for item, count in items.items():
        STEP_ITEMS.labels(step, item).inc(count)
    log.info(
        "%s step: %s",
        step,
        ", ".join(f"{count} {item}" for item, count in items.items()),
        extra={"step": step, "outcome": "ok", "duration_ms": round(seconds * 1000, 3), **items},
    )


def step_failed(step: str) -> None:
    STEPS.labels(step, "failed").inc()


_POOL_SERIES: list[Any] = []  # POOL's in_use and open series, once the first pool reports


def pool(in_use: int, size: int) -> None:
    if not _POOL_SERIES:
        _POOL_SERIES.extend((POOL.labels("in_use"), POOL.labels("open")))
    _POOL_SERIES[0].set(in_use)
    _POOL_SERIES[1].set(size)


def redis_error(where: str) -> None:
    REDIS_ERRORS.labels(where).inc()


def rate_limited(stage: str, count: int = 1) -> None:
    RATE_LIMITED.labels(stage).inc(count)


def sign_in_locked() -> None:
    LOCKOUTS.inc()


def verified(ok: bool) -> None:
    VERIFY_OK.set(1 if ok else 0)
    VERIFY_TIME.set(time.time())


def write_verify_file(path: str, ok: bool) -> None:
    """`greenledger verify --metrics-file`: the outcome for node_exporter's textfile collector
    (written to a temporary file and renamed, so a scrape never reads half of it)."""
    registry = CollectorRegistry()
    Gauge(*_VERIFY_OK, registry=registry).set(int(ok))
    Gauge(*_VERIFY_TIME, registry=registry).set(time.time())
    write_to_textfile(path, registry)
