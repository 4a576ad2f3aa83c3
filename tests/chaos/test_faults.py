"""Faults, nothing lost (issue 8): graded credits under load while a fault strikes.

Each scenario starts `greenledger serve --workers 2` on the private PostgreSQL and Redis (the
demo subdistrict of 300 households, seeded with `greenledger seed-demo`), drives inspections
from concurrent clients that retry with the same event_id until they get an answer, and strikes
once a quarter of them are answered:

  (a) Redis SIGKILLed, started again (empty) after a moment;
  (b) PostgreSQL restarted (`pg_ctl restart -m fast`: every connection cut);
  (c) one uvicorn worker SIGKILLed.

Then, from SQL: every acknowledged credit has exactly its one entry (by event_id, with the
points the reply named), a refusal or a grade worth 0 has none, nothing has two, every
inspection row belongs to a stored outcome; a sample of acknowledged requests sent again gets
the same reply; the server's own sealer and projector catch up by themselves;
`greenledger verify --seal` and `greenledger check-projections` pass.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.chaos import report
from tests.chaos.ledger_checks import (
    check_projections,
    duplicates,
    entries_by_event,
    scalar,
    stored_at,
    verify,
    wait_for_projector,
)
from tests.chaos.load import (
    Outcome,
    Request,
    clients,
    drive,
    failure_kinds,
    lost_answers,
    send,
    tally,
)
from tests.chaos.servers import (
    ApiServer,
    PrivatePostgres,
    PrivateRedis,
    alive,
    cli,
    connections_to,
    health,
    running,
    server_env,
    wait_until,
)
from tests.chaos.world import (
    DEMO_PASSWORD,
    USER_PASSWORD,
    created,
    listed,
    new_event_id,
    sign_in,
)

HOUSEHOLDS = 300
STREAMS = ("kitchen", "recyclable", "hazardous", "other")
EVENTS_PER_SCENARIO = 400  # 300 households x 4 streams = 1,200 graded drop-offs a day
CLIENTS = 16
WORKERS = 2
REDIS_DOWN_SECONDS = 1.5
WORKER_RESTART_WAIT_SECONDS = 30
SEAL_WAIT_SECONDS = 10
PROJECTOR_WAIT_SECONDS = 30
REPLAYED = 50
QUIET_SECONDS = 2.0
EXIT_SECONDS_MAX = 10
INSPECTOR = "chaos-inspector"
ROWS: list[dict[str, Any]] = []
NOTES: list[str] = []


@dataclass
class FaultWorld:
    url: str
    redis_url: str
    env: dict[str, str]
    plan: list[tuple[int, str, str]]  # (household id, stream, grade), shuffled
    cards: dict[int, str] = field(default_factory=dict)  # household id -> card token
    point_of: dict[int, str] = field(default_factory=dict)  # household id -> a point's token

    def requests(self, scenario: int, headers: dict[str, str]) -> list[Request]:
        chosen = self.plan[scenario * EVENTS_PER_SCENARIO : (scenario + 1) * EVENTS_PER_SCENARIO]
        return [
            Request(
                "/api/v1/inspections",
                {
                    "event_id": new_event_id(f"chaos{scenario}"),
                    "household_token": self.cards[household],
                    "point_token": self.point_of[household],
                    "stream": stream,
                    "grade": grade,
                },
                headers,
            )
            for household, stream, grade in chosen
        ]


@pytest.fixture(scope="module")
def world(postgres: PrivatePostgres, redis_server: PrivateRedis) -> Iterator[FaultWorld]:
    url = postgres.create_database("chaos_faults")
    env = server_env(url, redis_server.url(0))
    for args in (["migrate"], ["seed-demo", "--households", str(HOUSEHOLDS), "--days", "0"]):
        done = cli(env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    compounds = postgres.psql("chaos_faults", "SELECT id FROM compound ORDER BY id").split()
    scope = [arg for compound in compounds for arg in ("--compound", compound)]
    done = cli(env, "user", "add", INSPECTOR, "--role", "inspector", "--password", USER_PASSWORD,
               *scope)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    households = [int(h) for h in postgres.psql("chaos_faults", "SELECT id FROM household").split()]
    rng = random.Random(8)
    plan = [
        (household, stream, rng.choices(("good", "fair", "poor"), (7, 2, 1))[0])
        for household in households
        for stream in STREAMS
    ]
    rng.shuffle(plan)
    assert len(plan) >= 3 * EVENTS_PER_SCENARIO
    yield FaultWorld(url, redis_server.url(0), env, plan)
    NOTES.insert(
        0,
        "acked w/ entry: acknowledged with an entry_id (a poor grade or one past the daily cap "
        "earns 0 and writes none); entries: SQL rows with those event_ids; acked b/d/a: "
        "acknowledged before / during / after the fault; slowest: first try to answer, s",
    )
    report.record(
        f"Faults, nothing lost: {WORKERS} uvicorn workers, {CLIENTS} retrying clients, "
        f"{EVENTS_PER_SCENARIO} inspections per fault",
        ROWS,
        NOTES,
    )


async def _load_codes(world: FaultWorld, base_url: str) -> None:
    if world.cards:
        return
    (pool,) = clients([base_url], 4)
    async with pool:
        admin = await sign_in(pool, "admin", DEMO_PASSWORD)
        households = await listed(pool, admin, "/api/v1/households")
        points = await listed(pool, admin, "/api/v1/points")
    point_in: dict[int, str] = {}
    for point in points:
        point_in.setdefault(point["compound_id"], point["token"])
    for household in households:
        world.cards[household["id"]] = household["token"]
        world.point_of[household["id"]] = point_in[household["compound_id"]]


Fault = Callable[[], Awaitable[dict[str, Any]]]


def redis_fault(redis: PrivateRedis, base_url: str) -> Fault:
    async def strike() -> dict[str, Any]:
        redis.kill()
        await asyncio.sleep(0.3)
        seen = await asyncio.to_thread(health, base_url)
        await asyncio.sleep(REDIS_DOWN_SECONDS - 0.3)
        await asyncio.to_thread(redis.start)
        return {
            "fault": f"Redis SIGKILLed, down {REDIS_DOWN_SECONDS:.1f} s, back empty",
            "health_during": seen,
        }

    return strike


def postgres_fault(postgres: PrivatePostgres, server: ApiServer) -> Fault:
    async def strike() -> dict[str, Any]:
        seconds = await asyncio.to_thread(postgres.restart)
        return {
            "fault": f"pg_ctl restart -m fast took {seconds:.1f} s",
            "log_after": server.log_size(),  # what the server logs once PostgreSQL is back
        }

    return strike


def worker_fault(server: ApiServer, pg_port: int) -> Fault:
    async def strike() -> dict[str, Any]:
        before = server.worker_pids()
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()

        def replaced() -> bool:
            now = server.worker_pids()
            return len(now) == WORKERS and victim not in now and all(alive(p) for p in now)

        try:
            await asyncio.to_thread(
                wait_until, replaced, WORKER_RESTART_WAIT_SECONDS, "a new worker"
            )
        except TimeoutError:
            after = server.worker_pids()
            return {
                "fault": f"worker {victim} SIGKILLed; NOT replaced in "
                f"{WORKER_RESTART_WAIT_SECONDS} s (workers now {after})",
                "restarted": False,
            }
        appeared = time.monotonic() - killed
        new = sorted(set(server.worker_pids()) - set(before))

        def connected() -> bool:
            return all(connections_to(pid, pg_port) > 0 for pid in new)

        try:
            await asyncio.to_thread(wait_until, connected, WORKER_RESTART_WAIT_SECONDS, "its pool")
            ready = f", its database pool open {time.monotonic() - killed:.1f} s after the kill"
        except TimeoutError:
            ready = ", but it opened no database connection"
        return {
            "fault": f"worker {victim} SIGKILLed; uvicorn started worker {new} "
            f"{appeared:.1f} s later{ready}",
            "restarted": True,
        }

    return strike


async def _still_failing(server: ApiServer) -> list[str]:
    """Lines the server logs in a quiet moment after the load: a sealer or projector that
    fails on every pass (every IDLE_SECONDS) shows here, even when another worker's copy
    does its work."""
    offset = server.log_size()
    await asyncio.sleep(QUIET_SECONDS)
    return [
        line
        for line in server.log_since(offset).splitlines()
        if "retrying" in line or "nested transactions" in line
    ]


def _phase(outcome: Outcome, fault: dict[str, Any]) -> str:
    at = outcome.answered_at
    if at is None:
        return "never"
    if at < fault.get("started", float("inf")):
        return "before"
    return "during" if at <= fault.get("ended", float("inf")) else "after"


async def _scenario(
    index: int,
    name: str,
    world: FaultWorld,
    log_dir: Path,
    make_fault: Callable[[ApiServer], Fault],
    sigterm_after: bool = False,
) -> None:
    env = server_env(world.url, world.redis_url, GREENLEDGER_RATE_LIMIT_PER_MINUTE=str(10**6))
    server = ApiServer(env, WORKERS, log_dir, f"faults-{index}")
    problems: list[str] = []
    with running(server):
        await _load_codes(world, server.base_url)
        (pool,) = clients([server.base_url], CLIENTS)
        async with pool:
            inspector = await sign_in(pool, INSPECTOR, USER_PASSWORD)
            requests = world.requests(index, inspector)
            inspections_before = await scalar(world.url, "SELECT COUNT(*) FROM inspection")
            outcomes, fault = await drive(
                [pool],
                requests,
                CLIENTS,
                make_fault(server),
                fault_after=len(requests) // 4,
                held=len(requests) // 4,
            )
            acknowledged = [o for o in outcomes if o.status == "ok"]
            sample = random.Random(index).sample(acknowledged, min(REPLAYED, len(acknowledged)))
            replays = await asyncio.gather(*(send(pool, o.request) for o in sample))
        for original, replay in zip(sample, replays, strict=True):
            if (replay.status, replay.reply) != ("ok", original.reply):
                problems.append(f"replay of {original.request.event_id} answered {replay}")
        waited, projection = await wait_for_projector(
            world.url, world.redis_url, PROJECTOR_WAIT_SECONDS
        )
        if not projection.caught_up:
            problems.append(f"the server's projector did not catch up: {projection}")
        still_failing = await _still_failing(server)
        workers_at_end = server.worker_pids()

        event_ids = [o.request.event_id for o in outcomes]
        found = await entries_by_event(world.url, event_ids)
        stored_ok = await scalar(
            world.url,
            "SELECT COUNT(*) FROM idempotency_record WHERE event_id = ANY($1::text[])"
            " AND outcome = 'ok'",
            event_ids,
        )
        inspections = await scalar(world.url, "SELECT COUNT(*) FROM inspection")
        lost = lost_answers(outcomes, await stored_at(world.url, event_ids))
        proof = verify(env)
        boards = check_projections(env)
        log_tail = server.log_tail(15)
        exit_seconds = server.terminate(EXIT_SECONDS_MAX) if sigterm_after else None
        server_log = server.log_since(0)
        log_after_fault = server.log_since(fault.get("log_after", 0))

    counts = tally(outcomes)
    unacknowledged_twice = 0
    for outcome in outcomes:
        amounts = found.get(outcome.request.event_id, [])
        if outcome.status == "ok":
            assert outcome.reply is not None
            expected = [outcome.reply["points_awarded"]] if outcome.reply["entry_id"] else []
            if amounts != expected:
                problems.append(
                    f"acknowledged {outcome.request.event_id} {outcome.reply}: entries {amounts}"
                )
        elif outcome.status == "refused" and amounts:
            problems.append(f"refused {outcome.request.event_id} has entries {amounts}")
        elif len(amounts) > 1:
            unacknowledged_twice += 1
    extra_inspections = inspections - inspections_before - stored_ok
    phases = {phase: 0 for phase in ("before", "during", "after")}
    for outcome in acknowledged:
        phases[_phase(outcome, fault)] += 1

    row = {
        "fault": name,
        "sent": counts["sent"],
        "acknowledged": counts["acknowledged"],
        "refused": counts["refused"],
        "unanswered": counts["unanswered"],
        "retried": counts["retried"],
        "failed tries": counts["failed_attempts"],
        "acked w/ entry": sum(1 for o in acknowledged if o.reply and o.reply["entry_id"]),
        "entries": sum(len(a) for a in found.values()),
        "duplicates": duplicates(found),
        "acked b/d/a": f"{phases['before']}/{phases['during']}/{phases['after']}",
        "seconds": f"{fault['seconds']:.1f}",
        "slowest": f"{max(o.seconds for o in outcomes):.1f}",
        "verify": "ok" if proof.ok else "FAIL",
        "boards=SQL": "ok" if boards.ok else "FAIL",
    }
    ROWS.append(row)
    first_note = len(NOTES)
    NOTES.append(f"({index + 1}) {name}: {fault.get('fault')}")
    if "health_during" in fault:
        NOTES.append(f"    /health while Redis was down: {fault['health_during']}")
    NOTES.append(
        f"    failed tries by kind: {failure_kinds(outcomes) or 'none'}; background tasks "
        f"failing {QUIET_SECONDS:.0f} s after the load: {len(still_failing)} log lines"
    )
    NOTES.append(
        f"    acknowledged on a retry although an earlier, failed try had stored them: "
        f"{sum(lost.values())} {lost or ''}"
    )
    NOTES.append(
        f"    server projector caught up {waited:.1f} s after the load (facts through "
        f"{projection.head}); {len(sample)} acknowledged requests replayed, same replies"
        if not any(p.startswith("replay") for p in problems)
        else f"    replays differ: {[p for p in problems if p.startswith('replay')][:3]}"
    )
    print("\n" + report.table(f"fault ({index + 1})", [row], NOTES[first_note:]))

    if counts["unanswered"]:
        problems.append(f"{counts['unanswered']} requests never got an answer")
    if counts["refused"]:
        refusals = [o.reply for o in outcomes if o.status == "refused"][:5]
        problems.append(f"{counts['refused']} valid inspections refused: {refusals}")
    if duplicates(found) or unacknowledged_twice:
        problems.append(f"duplicates: {duplicates(found)}")
    if extra_inspections:
        problems.append(f"{extra_inspections} inspection rows without a stored outcome")
    if not proof.ok:
        problems.append(f"greenledger verify --seal failed:\n{proof.output}")
    if not boards.ok:
        problems.append(f"greenledger check-projections failed:\n{boards.output}")
    if still_failing:
        problems.append(f"background tasks still failing after the fault: {still_failing[:3]}")
    if not workers_at_end:
        problems.append("no worker left at the end")
    if sigterm_after:
        NOTES.append(
            f"    SIGTERM after the load: exited in {exit_seconds:.1f} s"
            if exit_seconds is not None
            else f"    SIGTERM after the load: still running after {EXIT_SECONDS_MAX} s"
        )
        if exit_seconds is None:
            problems.append(f"the server did not exit within {EXIT_SECONDS_MAX} s of SIGTERM")
        # While PostgreSQL shuts down, a connection cut between two statements fails as
        # asyncpg's "another operation is in progress" too; once it is back, none may.
        pool_failures = [line for line in log_after_fault.splitlines() if _pool_failure(line)]
        if pool_failures:
            problems.append(f"after the restart, failed for a pool reason: {pool_failures[:3]}")
        if "Traceback" in server_log:
            problems.append("tracebacks logged; a database restart is one warning line per try")
    assert not problems, "\n".join(problems[:20]) + f"\n{log_tail}"


async def test_a_redis_killed_mid_load(
    world: FaultWorld, redis_server: PrivateRedis, log_dir: Path
) -> None:
    await _scenario(
        0, "Redis SIGKILL", world, log_dir, lambda s: redis_fault(redis_server, s.base_url)
    )


async def test_b_postgres_restarted_mid_load_then_sigterm(
    world: FaultWorld, postgres: PrivatePostgres, log_dir: Path
) -> None:
    """Issue 12 item 14: after the restart no request fails for a pool reason (a connection
    left mid-operation handed out again), and SIGTERM ends the server within EXIT_SECONDS_MAX
    (it hung in Pool.close() on a connection a failed BEGIN had kept checked out)."""
    await _scenario(
        1,
        "PostgreSQL restart",
        world,
        log_dir,
        lambda s: postgres_fault(postgres, s),
        sigterm_after=True,
    )


def _pool_failure(line: str) -> bool:
    """asyncpg's words for a connection used while another operation was still on it."""
    return "another operation" in line or "released back to the pool" in line


async def test_c_worker_killed_mid_load(
    world: FaultWorld, postgres: PrivatePostgres, log_dir: Path
) -> None:
    await _scenario(2, "worker SIGKILL", world, log_dir, lambda s: worker_fault(s, postgres.port))


async def test_d_sealer_loses_its_connection_mid_transaction(
    world: FaultWorld, log_dir: Path
) -> None:
    """Deterministic: the one worker's sealer is held inside its transaction by a table lock,
    its backend is terminated there, and it must go on sealing afterwards (it once stopped for
    good: Piccolo kept the dead transaction in the sealer task's context)."""
    env = server_env(world.url, world.redis_url)
    server = ApiServer(env, 1, log_dir, "faults-sealer")
    with running(server):
        blocker = await asyncpg.connect(world.url)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE entry_unsealed IN ACCESS EXCLUSIVE MODE")
                waiting = await _lock_waiter(blocker)
                terminated = await blocker.fetchval("SELECT pg_terminate_backend($1)", waiting)
        finally:
            await blocker.close()
        account_id = int(
            await scalar(world.url, "SELECT account FROM household ORDER BY id LIMIT 1")
        )
        (pool,) = clients([server.base_url], 2)
        async with pool:
            admin = await sign_in(pool, "admin", DEMO_PASSWORD)
            body = {"account_id": account_id, "amount_points": 1, "reason": "after the cut"}
            await created(pool, admin, "/api/v1/adjustments", body)
        started = time.monotonic()
        unsealed = await scalar(world.url, "SELECT COUNT(*) FROM entry_unsealed")
        while unsealed and time.monotonic() - started < SEAL_WAIT_SECONDS:
            await asyncio.sleep(0.2)
            unsealed = await scalar(world.url, "SELECT COUNT(*) FROM entry_unsealed")
        sealed_after = time.monotonic() - started
        still_failing = await _still_failing(server)
    NOTES.append(
        f"(4) sealer's backend (pid {waiting}) terminated inside its transaction "
        f"(terminated={terminated}); a credit written after it: "
        + (
            f"sealed by the same worker {sealed_after:.1f} s later"
            if not unsealed
            else f"still unsealed after {SEAL_WAIT_SECONDS} s"
        )
        + f"; sealer failures logged in a quiet {QUIET_SECONDS:.0f} s: {len(still_failing)}"
    )
    assert terminated
    assert unsealed == 0, f"the sealer stopped sealing: {still_failing[:3]}"
    assert not still_failing, still_failing[:3]


async def _lock_waiter(blocker: asyncpg.Connection) -> int:
    """The backend (the sealer's, the only writer) that waits for our lock; bounded."""
    for _ in range(100):
        pid = await blocker.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1"
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.1)
    raise AssertionError("the sealer never waited for entry_unsealed")
