"""What every phase shares: names, environment, timing and percentiles.

Only databases named `bench_*` are ever created or dropped, only Redis db 14 under the `bench`
prefix is written, and only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# db 14 unless BENCH_REDIS_URL names another (a second bench on a shared machine).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
REDIS_PREFIX = "bench"
SECRET_KEY = "bench-only-secret-key-0123456789abcdefghijklmnop"  # noqa: S105 (bench data)
PASSWORD = "bench-pass-2026"  # noqa: S105 (bench users only)
INSPECTOR, CLERK = "bench-inspector", "bench-clerk"
HTTP_PORT, SQLITE_PORT = 8791, 8792
STREAMS = ("kitchen", "recyclable", "hazardous", "other")
# The event ids of the past gradings bench/past.py adds (the floor counts only its own claims).
PAST_PREFIX = "past-"
# A rules version whose daily cap never binds: four streams of "good" (10) each score.
GRADE_POINTS_GOOD = 10
BENCH_DAILY_CAP = 1_000
CONCURRENCY_SERVICE = 8
CONNECTIONS_HTTP = 64
RATE_LIMIT_NEVER_BINDS = 1_000_000_000
# The counter (bench.seed --spending): clerks at 8 tills, each household's points enough for
# SPENDING_POINTS / REWARD_COST redemptions, and stock for more than the phase can take.
SPENDING_CLERKS = 8
SPENDING_POINTS = 2_000
REWARD_COST = 10
REWARD_STOCK = 1_000_000
# /metrics answers only with this bearer token (GREENLEDGER_METRICS_TOKEN of the bench server).
METRICS_TOKEN = "bench-only-metrics-token-0123456789abcdef"  # noqa: S105 (bench server only)


def pg_url(database: str) -> str:
    check_bench_name(database)
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def check_bench_name(database: str) -> None:
    if not database.startswith("bench_") or not database.replace("_", "").isalnum():
        raise SystemExit(f"refusing database {database!r}: only bench_* names are used")


def app_env(
    database_url: str, *, redis: bool = True, redis_prefix: str = REDIS_PREFIX
) -> dict[str, str]:
    """The environment the server, the CLI and the in-process phases share."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLEDGER_")}
    env |= {
        "GREENLEDGER_DATABASE_URL": database_url,
        "GREENLEDGER_SECRET_KEY": SECRET_KEY,
        "GREENLEDGER_BASE_URL": "http://127.0.0.1:8000",
        "GREENLEDGER_REDIS_PREFIX": redis_prefix,
        "PICCOLO_CONF": "ledger.store.piccolo_conf",
        # The limiter stays on (its Redis round trips are part of every request's cost) but
        # never binds: all the load comes from one address.
        "GREENLEDGER_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_NEVER_BINDS),
    }
    if redis:
        env["GREENLEDGER_REDIS_URL"] = REDIS_URL
    return env


def configure_in_process(
    database_url: str, *, redis: bool = True, redis_prefix: str = REDIS_PREFIX
) -> None:
    """Point Piccolo at a database; call before importing anything from ledger or api."""
    assert "piccolo" not in sys.modules, "configure the database before Piccolo is imported"
    os.environ.update(app_env(database_url, redis=redis, redis_prefix=redis_prefix))
    if not redis:
        os.environ.pop("GREENLEDGER_REDIS_URL", None)


async def pg_admin(*statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres"
    )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def recreate_database(database: str, template: str | None = None) -> None:
    check_bench_name(database)
    if template is not None:
        check_bench_name(template)
    clause = f' TEMPLATE "{template}"' if template else ""
    await pg_admin(
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"{clause}',
    )


async def drop_database(database: str) -> None:
    check_bench_name(database)
    await pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Tally:
    """Latencies (seconds) and outcomes of one timed phase."""

    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    issued: int = 0  # operations run, warm-up included
    failures: dict[str, int] = field(default_factory=dict)
    first_failure: str | None = None

    def fail(self, reason: str, detail: str = "") -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1
        if self.first_failure is None:
            self.first_failure = f"{reason}: {detail}"[:500]

    def merge(self, others: Iterable[Tally]) -> Tally:
        for other in others:
            self.latencies += other.latencies
            self.ok += other.ok
            self.issued += other.issued
            for reason, count in other.failures.items():
                self.failures[reason] = self.failures.get(reason, 0) + count
            self.first_failure = self.first_failure or other.first_failure
        return self

    def summary(self, wall_s: float, *, units_per_op: int = 1) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 2)

        ops = len(ordered)
        return {
            "ops": ops,
            "units": self.ok,
            "wall_s": round(wall_s, 3),
            "per_s": round(self.ok / wall_s, 1) if wall_s > 0 else None,
            "ops_per_s": round(ops / wall_s, 1) if wall_s > 0 else None,
            "units_per_op": units_per_op,
            "p50_ms": ms(percentile(ordered, 0.50)),
            "p90_ms": ms(percentile(ordered, 0.90)),
            "p99_ms": ms(percentile(ordered, 0.99)),
            "max_ms": ms(ordered[-1] if ordered else None),
            "failures": self.failures,
            "first_failure": self.first_failure,
            "issued_with_warmup": self.issued,
            "all_ok": not self.failures and self.ok > 0,
        }


# One operation: how many units it completed correctly, and what went wrong (None if nothing).
Outcome = tuple[int, str | None]
Operation = Callable[[int], Awaitable[Outcome]]


class Exhausted(Exception):
    """The phase used every (household, stream) pair it was given."""


async def run_timed(
    operation: Operation,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    max_ops: int | None = None,
    max_timed: int | None = None,
) -> tuple[Tally, float]:
    """`concurrency` tasks call `operation(i)` with i = 0, 1, 2 ... until the deadline, until
    `max_ops` operations in all, or until `max_timed` timed ones.

    Operations started during the warm-up are checked but not timed. Returns the tally of the
    timed ones and the timed wall clock: from the end of the warm-up to the last completion.
    """
    counter = itertools.count()
    measure_from = time.perf_counter() + warmup_s
    deadline = measure_from + duration_s
    tallies = [Tally() for _ in range(concurrency)]
    last_end = measure_from
    timed = itertools.count()

    async def worker(tally: Tally) -> None:
        nonlocal last_end
        while (started := time.perf_counter()) < deadline:
            if started >= measure_from and max_timed is not None and next(timed) >= max_timed:
                return
            index = next(counter)
            if max_ops is not None and index >= max_ops:
                return
            try:
                units, problem = await operation(index)
            except Exhausted:
                return
            except Exception as error:  # every failure is counted and shown, never hidden
                units, problem = 0, f"exception: {error!r}"
            ended = time.perf_counter()
            tally.issued += 1
            if started >= measure_from:
                tally.latencies.append(ended - started)
                tally.ok += units
                last_end = max(last_end, ended)
            if problem is not None:
                tally.fail(problem.split(":", 1)[0], problem)

    await asyncio.gather(*(worker(tally) for tally in tallies))
    return Tally().merge(tallies), max(last_end - measure_from, 1e-9)


def slot(households: Sequence[Any], index: int) -> tuple[Any, int, int]:
    """The index-th (household, stream) pair of a phase, stream-major, and the balance the
    household must show after that credit (each pair scores GRADE_POINTS_GOOD once).

    The phase's last household is kept out of the rotation: index -1 is its first credit,
    used for the one credit whose statements are recorded."""
    if index == -1:
        return households[-1], 0, GRADE_POINTS_GOOD
    size = len(households) - 1
    round_, position = divmod(index, size)
    if round_ >= len(STREAMS):
        raise Exhausted
    return households[position], round_, GRADE_POINTS_GOOD * (round_ + 1)


def spending_clerk(number: int) -> str:
    return f"bench-clerk-{number}"


def spend_slot(households: Sequence[Any], index: int) -> tuple[Any, int]:
    """The index-th redemption of the spending phase: its household (round-robin, so a
    household's redemptions follow each other) and the balance the household must show after
    it (each one costs REWARD_COST of the SPENDING_POINTS it was given)."""
    round_, position = divmod(index, len(households))
    if round_ >= SPENDING_POINTS // REWARD_COST:
        raise Exhausted
    return households[position], SPENDING_POINTS - REWARD_COST * (round_ + 1)


_SHAPE = re.compile(
    r"^(?P<verb>SELECT|INSERT INTO|UPDATE|DELETE FROM|BEGIN|COMMIT|ROLLBACK)\b"
    r"(?:.*?\bFROM\s+\"?(?P<from>\w+))?",
    re.IGNORECASE | re.DOTALL,
)


def statement_shape(sql: str) -> str:
    """`SELECT household`, `INSERT INTO entry`, `UPDATE account`, `SELECT account FOR UPDATE`:
    enough to compare the floor's statement list with what the ledger sends today. A statement
    with writes in its WITH list shows them after its own: `INSERT INTO inspection + INSERT INTO
    lot, INSERT INTO board_fact`; one of several SELECTs shows each: `SELECT household UNION ALL
    SELECT collection_point`."""
    text = " ".join(sql.split())
    if text.upper().startswith("WITH "):
        parts, main = _with_parts(text)
        return f"{statement_shape(main)} + {', '.join(statement_shape(p) for p in parts)}"
    if len(united := _union_parts(text)) > 1:
        return " UNION ALL ".join(statement_shape(part) for part in united)
    if text.upper().startswith("SELECT PG_ADVISORY_UNLOCK_ALL"):
        return "RESET (pool release)"
    match = _SHAPE.match(text)
    if match is None:
        return text[:40]
    verb = match["verb"].upper()
    if verb == "BEGIN" and "SET LOCAL PLAN_CACHE_MODE" in text.upper():
        return "BEGIN; SET LOCAL plan_cache_mode"
    if verb in ("BEGIN", "COMMIT", "ROLLBACK"):
        return verb
    if verb == "SELECT":
        shape = f"SELECT {match['from'] or '?'}"
        return shape + (" FOR UPDATE" if text.upper().endswith("FOR UPDATE") else "")
    table = text[len(match["verb"]) :].split()[0].strip('"')
    return f"{verb} {table}"


def _union_parts(text: str) -> list[str]:
    """The SELECTs of `SELECT … UNION ALL SELECT …` (outside parentheses)."""
    parts, depth, start = [], 0, 0
    for position, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0 and text.startswith(" UNION ALL ", position):
            parts.append(text[start:position])
            start = position + len(" UNION ALL ")
    return [*parts, text[start:]]


def _with_parts(text: str) -> tuple[list[str], str]:
    """The bodies of `WITH a AS (…), b AS (…) main` and main (parentheses balanced)."""
    parts, position = [], len("WITH ")
    while True:
        start = text.index("(", position)
        depth, end = 0, start
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        parts.append(text[start + 1 : end])
        rest = text[end + 1 :].lstrip()
        if not rest.startswith(","):
            return parts, rest
        position = end + 1


class CaptureStatements:
    """Records the statements every asyncpg connection of this process sends, while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __enter__(self) -> CaptureStatements:
        from asyncpg.connection import Connection

        self._saved = (Connection.fetch, Connection.execute)
        fetch, execute = self._saved
        statements = self.statements

        async def logged_fetch(connection: Any, query: str, *args: Any, **kw: Any) -> Any:
            statements.append(query)
            return await fetch(connection, query, *args, **kw)

        async def logged_execute(connection: Any, query: str, *args: Any, **kw: Any) -> Any:
            statements.append(query)
            return await execute(connection, query, *args, **kw)

        Connection.fetch, Connection.execute = logged_fetch, logged_execute  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from asyncpg.connection import Connection

        Connection.fetch, Connection.execute = self._saved  # type: ignore[method-assign]

    def shapes(self) -> list[str]:
        return [statement_shape(sql) for sql in self.statements]


class CpuMeter:
    """CPU seconds used by the whole machine and by this process over a phase."""

    def __init__(self) -> None:
        self.start_wall = time.perf_counter()
        self.start_machine = _machine_busy()
        self.start_self = time.process_time()

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self.start_wall
        busy = _machine_busy() - self.start_machine
        own = time.process_time() - self.start_self
        return {
            "machine_cores_busy": round(busy / wall, 2) if wall else 0.0,
            "this_process_cores": round(own / wall, 2) if wall else 0.0,
        }


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend connected to `database` (same machine)."""
    import asyncpg

    db = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        pids = await db.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await db.close()
    return {row["pid"]: process_cpu_seconds(row["pid"]) for row in pids}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two `backend_cpu` snapshots (backends that appeared count whole)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def cpu_per_operation(
    operations: int, own_seconds: float, pg_after: dict[int, float], pg_before: dict[int, float]
) -> dict[str, float | None]:
    """Milliseconds of CPU per operation: this process, and the PostgreSQL backends."""
    if operations <= 0:
        return {"this_process": None, "postgres": None}
    pg = cpu_delta(pg_before, pg_after) if pg_after else None
    return {
        "this_process": round(1000 * own_seconds / operations, 3),
        "postgres": None if pg is None else round(1000 * pg / operations, 3),
    }


def _machine_busy() -> float:
    """Seconds of non-idle CPU time, all cores together, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def write_result(name: str, result: Mapping[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def run_and_write(out: str, main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Runs a bench's `main_async` coroutine (on uvloop when it is installed) and writes its
    result as `<out>.json`."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(main)
    write_result(out, result)
    return result


def read_result(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((OUT / f"{name}.json").read_text())
    return result


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def check_credit_reply(body: Any, expected_balance: int) -> Outcome:
    """A graded credit that must have scored (an HTTP reply or a `Graded.record()`): 10
    points, an entry, the expected balance."""
    if body.get("points_awarded") != GRADE_POINTS_GOOD or body.get("scored") is not True:
        return 0, f"points: {str(body)[:200]}"
    if not isinstance(body.get("entry_id"), int):
        return 0, f"entry: {str(body)[:200]}"
    if body.get("balance_points") != expected_balance:
        return 0, f"balance: {body.get('balance_points')} != {expected_balance}"
    return 1, None
