"""Clients that retry with the same event_id until they get a definitive answer.

A definitive answer is a 2xx (acknowledged) or a 4xx refusal other than 429. Connection
errors, timeouts, 429 and 5xx are retried with the same body, after a short growing pause,
until the request's deadline; a request still without an answer then is "unanswered".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

ANSWER_DEADLINE_SECONDS = 60.0
REQUEST_TIMEOUT = httpx.Timeout(
    10.0, connect=3.0, pool=None
)  # queueing for a connection is not a failure
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 1.0


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    server: int = 0  # which base URL (client pool) to send it through

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])


@dataclass
class Outcome:
    request: Request
    status: str = "unanswered"  # "ok", "refused", "unanswered"
    http_status: int | None = None
    reply: dict[str, Any] | None = None
    attempts: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    tries: list[tuple[float, str]] = field(default_factory=list)  # (wall-clock start, result)
    started_at: float = 0.0
    answered_at: float | None = None

    @property
    def code(self) -> str | None:
        return None if self.reply is None else self.reply.get("code")

    @property
    def seconds(self) -> float:
        """From the first try to the answer (or to giving up)."""
        return (self.answered_at or time.monotonic()) - self.started_at

    @property
    def retried(self) -> bool:
        return self.attempts > 1


def _failure(error: Exception) -> str:
    return type(error).__name__


def clients(base_urls: Sequence[str], connections: int) -> list[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return [
        httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits) for url in base_urls
    ]


async def send(
    client: httpx.AsyncClient, request: Request, deadline: float = ANSWER_DEADLINE_SECONDS
) -> Outcome:
    outcome = Outcome(request, started_at=time.monotonic())
    give_up = time.monotonic() + deadline
    pause = BACKOFF_FIRST
    while time.monotonic() < give_up:
        outcome.attempts += 1
        began = time.time()
        try:
            response = await client.post(request.path, json=request.body, headers=request.headers)
        except httpx.TransportError as error:
            failure = _failure(error)
        else:
            status = response.status_code
            if status < 300 or (400 <= status < 500 and status != 429):
                outcome.http_status = status
                outcome.reply = response.json()
                outcome.status = "ok" if status < 300 else "refused"
                outcome.answered_at = time.monotonic()
                outcome.tries.append((began, str(status)))
                return outcome
            failure = f"http_{status}"
        outcome.failures[failure] += 1
        outcome.tries.append((began, failure))
        await asyncio.sleep(pause * (0.5 + random.random()))  # jitter
        pause = min(pause * 2, BACKOFF_MAX)
    return outcome


async def drive(
    pools: Sequence[httpx.AsyncClient],
    requests: Sequence[Request],
    concurrency: int,
    fault: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    fault_after: int = 0,
    held: int = 0,
) -> tuple[list[Outcome], dict[str, Any]]:
    """Send every request from `concurrency` clients; run `fault` once `fault_after` requests
    are answered, while the load goes on; the last `held` requests wait until the fault is
    over, so that there is load before, during and after it however fast the machine. Returns
    the outcomes in request order and what the fault reported (start and end on the monotonic
    clock)."""
    assert fault_after + held <= len(requests), "the fault must come before the held requests"
    outcomes: list[Outcome | None] = [None] * len(requests)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(requests)):
        queue.put_nowait(index)
    answered = 0
    trigger, over = asyncio.Event(), asyncio.Event()
    if fault is None or fault_after <= 0:
        trigger.set()
    if fault is None:
        over.set()

    async def client_loop() -> None:
        nonlocal answered
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            request = requests[index]
            if index >= len(requests) - held:
                await over.wait()
            outcomes[index] = await send(pools[request.server], request)
            answered += 1
            if answered >= fault_after:
                trigger.set()

    report: dict[str, Any] = {}

    async def run_fault() -> None:
        if fault is None:
            return
        try:
            await trigger.wait()
            report["started"] = time.monotonic()
            report["answered_before"] = answered
            report.update(await fault())
            report["ended"] = time.monotonic()
        finally:
            over.set()  # never leave held requests waiting, even when the fault failed

    started = time.monotonic()
    fault_task = asyncio.create_task(run_fault())
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    trigger.set()
    await fault_task
    report["seconds"] = time.monotonic() - started
    report["load_started"] = started
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(requests), "every request has an outcome"
    return done, report


async def race(
    pools: Sequence[httpx.AsyncClient], requests: Sequence[Request]
) -> tuple[list[Outcome], float]:
    """Every request at once (one task each), through the pool of its server."""
    started = time.monotonic()
    outcomes = await asyncio.gather(*(send(pools[r.server], r) for r in requests))
    return list(outcomes), time.monotonic() - started


def lost_answers(outcomes: Sequence[Outcome], stored_at: dict[str, float]) -> dict[str, int]:
    """Acknowledged requests whose effect was stored by an earlier try, one the client saw
    fail: by how that try failed. `stored_at` is the idempotency record's time (the server
    takes it after the request arrived, on the same clock), so the try that stored the
    outcome is the last one that began before it."""
    lost: Counter[str] = Counter()
    for outcome in outcomes:
        at = stored_at.get(outcome.request.event_id)
        if outcome.status != "ok" or at is None or len(outcome.tries) < 2:
            continue
        began_before = [result for start, result in outcome.tries if start <= at]
        if began_before and len(began_before) < len(outcome.tries):
            lost[began_before[-1]] += 1
    return dict(lost)


def tally(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """sent / acknowledged / refused / unanswered / retried / failed attempts."""
    return {
        "sent": len(outcomes),
        "acknowledged": sum(o.status == "ok" for o in outcomes),
        "refused": sum(o.status == "refused" for o in outcomes),
        "unanswered": sum(o.status == "unanswered" for o in outcomes),
        "retried": sum(o.retried for o in outcomes),
        "failed_attempts": sum(sum(o.failures.values()) for o in outcomes),
    }


def failure_kinds(outcomes: Sequence[Outcome]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for outcome in outcomes:
        total.update(outcome.failures)
    return dict(total.most_common())
