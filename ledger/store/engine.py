"""Engines for both databases, and the one way to open a write transaction."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from ledger.store import caches, piccolo_transactions, sql, sqlite_files
from ledger.store.connections import (
    give_back,
    interrupted,
    is_stale_connection,
    pooled,
    quiet_pool_logs,
)
from ledger.store.inline_sqlite import InlineConnection
from ledger.store.replica import REPLICA, on_replica_or_primary, replica_of

DEFAULT_DATABASE_URL = "var/greenledger.sqlite"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POOL_SIZE_MAX = 10
# Deadlocks and serialisation failures are retried a bounded number of times, then surface.
TRANSIENT_RETRIES = 3
# A pooled connection that died idle fails at BEGIN; each one the pool holds may, once.
BEGIN_ATTEMPTS = POOL_SIZE_MAX + 1
ROLLBACK_SECONDS = 5
# Shutdown waits this long for connections still checked out, then cuts them: a SIGTERM ends
# the process within seconds, not at the kill.
POOL_CLOSE_SECONDS = 5

# What queued writes go ahead of when a Piccolo query flushes them (named if one fails).
PICCOLO_QUERY = "a Piccolo query"

log = logging.getLogger(__name__)


# The transactions below keep Piccolo's private transaction state only through
# ledger/store/piccolo_transactions.py, which says which Piccolo version it was checked against.


class SafeSQLiteTransaction(SQLiteTransaction):
    """Stock Piccolo leaks the connection's thread when BEGIN fails, and the process hangs."""

    async def begin(self) -> None:
        try:
            await super().begin()  # type: ignore[no-untyped-call]
        except BaseException:
            await self.connection.close()
            raise


class KeptConnectionTransaction(SafeSQLiteTransaction):
    """A write transaction on the process's kept SQLite writer connection.

    Opening a connection per transaction costs a thread, three PRAGMAs and a close, more than a
    whole credit's statements. The connection outlives the transaction; if finishing the
    transaction fails, the connection is dropped (closing it rolls back) and the next write
    opens a fresh one.
    """

    def __init__(self, engine: SQLiteEngine, writer: SQLiteWriter) -> None:
        super().__init__(
            engine=engine, transaction_type=TransactionType.immediate, allow_nested=False
        )
        self.writer = writer

    async def get_connection(self) -> Any:
        return await self.writer.connection()

    async def begin(self) -> None:
        """BEGIN IMMEDIATE takes the write lock; while another process holds it, wait here
        (the loop goes on serving), up to the busy timeout."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
        pause = 0.002
        while True:
            try:
                await self.connection.execute(f"BEGIN {self.transaction_type.value}")
                return
            except sqlite3.OperationalError as error:
                if "locked" in str(error) and time.monotonic() < deadline:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.1)
                    continue
                await self.writer.drop()
                raise
            except BaseException:
                await self.writer.drop()
                raise

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        try:
            if exception is not None:
                if not piccolo_transactions.rolled_back(self):
                    await self.rollback()  # type: ignore[no-untyped-call]
            elif not piccolo_transactions.finished(self):
                await self.commit()  # type: ignore[no-untyped-call]
        except BaseException:
            await self.writer.drop()
            raise
        finally:
            piccolo_transactions.leave(self)
        return exception is None


class SQLiteWriter:
    """The one connection this process writes through (writes are serialised in-process)."""

    def __init__(self, engine: SQLiteEngine) -> None:
        self.engine = engine
        self._connection: Any = None
        self._path = ""

    async def connection(self) -> Any:
        if self._connection is not None and self._path != self.engine.path:
            await self.drop()  # the engine was pointed at another file (tests do)
        if self._connection is None:
            self._connection = InlineConnection.open(
                **self.engine.connection_kwargs, check_same_thread=False
            )
            self._connection.row_factory = dict_factory
            self._path = self.engine.path
        return self._connection

    async def drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class SafePostgresTransaction(PostgresTransaction):
    """Stock Piccolo skips giving the connection back (and leaves the task inside the
    transaction) when ROLLBACK or COMMIT fails, as both do on a dead connection: each death
    would cost the pool a slot for good. Here the connection always goes back (asyncpg replaces
    a closed one) and the task always leaves the transaction. If the work already failed, that
    error is what the caller sees, not the ROLLBACK's on a connection that no longer exists.

    The pool does not reset connections on release (docs/decisions/2026-11-25-constant-sql-on-
    the-credit-path.md), so nothing else would notice a connection left mid-operation: one whose
    statement was interrupted, whose ROLLBACK failed, or whose BEGIN failed is terminated, never
    returned (docs/decisions/2026-12-06-broken-pool-connections.md)."""

    async def __aenter__(self) -> SafePostgresTransaction:
        outer = piccolo_transactions.parent(self)
        if outer is not None:
            return outer  # type: ignore[no-any-return]
        for attempt in range(BEGIN_ATTEMPTS):
            connection = await self.get_connection()  # type: ignore[no-untyped-call]
            piccolo_transactions.open_on(self, connection, postgres=True)
            try:
                await self.begin()  # type: ignore[no-untyped-call]
            except BaseException as error:
                # Stock Piccolo leaves the connection checked out here: its pool slot is lost
                # and Pool.close() waits for it forever.
                await give_back(self.engine.pool, connection, broken=True)
                if attempt + 1 < BEGIN_ATTEMPTS and is_stale_connection(error):
                    # Nothing was sent: a pooled connection that died idle (a restart cut it)
                    # is replaced, not reported.
                    log.info("a pooled connection failed at BEGIN (%s); taking another", error)
                    continue
                raise
            break
        piccolo_transactions.make_current(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if piccolo_transactions.parent(self) is not None:
            return exception is None
        broken = exception is not None and interrupted(exception)
        try:
            if exception is not None:
                if not piccolo_transactions.rolled_back(self) and not broken:
                    try:
                        await asyncio.wait_for(self.rollback(), ROLLBACK_SECONDS)  # type: ignore[no-untyped-call]
                    except BaseException as failed:
                        broken = True  # the work's own error is the one the caller sees
                        if not isinstance(failed, Exception):
                            raise
            elif not piccolo_transactions.finished(self):
                try:
                    await self.commit()  # type: ignore[no-untyped-call]
                except BaseException as error:
                    broken = interrupted(error)
                    raise
        finally:
            try:
                await give_back(self.engine.pool, self.connection, broken=broken)
            finally:
                piccolo_transactions.leave(self)
        return exception is None


# A grading group's statements are constant texts whose array parameters grow with the group.
# PostgreSQL 15 plans such a statement anew at each execution while a custom plan (for the few
# elements of a small group) looks cheaper than the generic one (costed for 10), and planning
# the first reads' UNION costs more than running it. So the grading committer's transactions
# use the generic plans each connection keeps, set in the BEGIN's own round trip
# (docs/decisions/2026-12-07-generic-plans-for-gradings.md).
GENERIC_PLANS_BEGIN = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan"


class GenericPlansTransaction(SafePostgresTransaction):
    """A write transaction whose statements run on generic plans (`GENERIC_PLANS_BEGIN`).

    asyncpg's transaction object sends `BEGIN` alone, so BEGIN, COMMIT and ROLLBACK are sent
    here as statements (asyncpg allows a transaction begun by hand); everything else is
    SafePostgresTransaction's."""

    async def begin(self) -> None:
        await self.connection.execute(GENERIC_PLANS_BEGIN)

    async def commit(self) -> None:
        await self.connection.execute("COMMIT")
        piccolo_transactions.mark_finished(self, committed=True)

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        piccolo_transactions.mark_finished(self, committed=False)


class HardenedPostgresEngine(PostgresEngine):
    def transaction(self, allow_nested: bool = True) -> SafePostgresTransaction:
        return SafePostgresTransaction(engine=self, allow_nested=allow_nested)

    def generic_plans_transaction(self) -> GenericPlansTransaction:
        return GenericPlansTransaction(engine=self, allow_nested=False)

    # A Piccolo query sees every write the transaction made before it: the queued ones
    # (`sql.later`) are sent first, as their own statement (`sql.flush`).
    # Inside `replica_reads()` and outside a transaction, a query goes to the replica
    # (ledger/store/replica.py).
    async def run_querystring(self, querystring: Any, in_pool: bool = True) -> Any:
        if replica_of(self) is None:
            await sql.flush(before=PICCOLO_QUERY)
            return await super().run_querystring(querystring, in_pool)

        async def here() -> Any:
            await sql.flush(before=PICCOLO_QUERY)
            return await super(HardenedPostgresEngine, self).run_querystring(querystring, in_pool)

        async def there(replica: Any) -> Any:
            return await replica.run_querystring(querystring, in_pool)

        return await on_replica_or_primary(self, there, here)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        await sql.flush(before=ddl)
        return await super().run_ddl(ddl, in_pool)

    # Piccolo's private hook for a query outside a transaction (store/piccolo_transactions.py).
    async def _run_in_pool(self, query: str, args: Any = None) -> Any:
        if not self.pool:
            raise ValueError("A pool isn't currently running.")
        async with pooled(self.pool) as connection:
            return await connection.fetch(query, *(args or []))


class HardenedSQLiteEngine(SQLiteEngine):
    """WAL, a busy timeout and BEGIN IMMEDIATE: the settings under which SQLite takes writes."""

    async def get_connection(self) -> Any:
        connection = await super().get_connection()
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.immediate,
        allow_nested: bool = True,
    ) -> SafeSQLiteTransaction:
        return SafeSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


def engine_from_url(
    url: str, replica_url: str | None = None, pgbouncer: bool = False
) -> Engine[Any]:
    """`postgresql://...` selects PostgreSQL; anything else is an SQLite file path.

    PostgreSQL only: `replica_url`, a streaming replica for the reads that may lag
    (ledger/store/replica.py); `pgbouncer`, PgBouncer in transaction mode in front, which keeps
    no prepared statements (1.18), so asyncpg's statement cache is off: a statement prepared on
    one server connection would be looked for on another."""
    if url.startswith(("postgresql://", "postgres://")):
        extra = {"statement_cache_size": 0} if pgbouncer else {}
        nodes = {}
        if replica_url:
            # A replica is read-only: no CREATE EXTENSION at start.
            nodes[REPLICA] = HardenedPostgresEngine(
                config={"dsn": replica_url, **extra}, extensions=()
            )
        return HardenedPostgresEngine(config={"dsn": url, **extra}, extra_nodes=nodes)
    path = sqlite_path(url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return HardenedSQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///").removeprefix("sqlite://")


@functools.cache
def current_engine() -> Engine[Any]:
    """One engine per process (piccolo_conf builds it once); looked up once."""
    engine = engine_finder()
    assert engine is not None, "piccolo_conf.py defines DB"
    return engine


def is_sqlite() -> bool:
    return isinstance(current_engine(), SQLiteEngine)


def dialect() -> str:
    """`sqlite` or `pg`: the key of an SQL text written once per engine."""
    return "sqlite" if is_sqlite() else "pg"


# "Is in the list of ids given as `$1`", by dialect: `id_list` makes the parameter.
IN_ID_LIST = {"pg": "= ANY($1::bigint[])", "sqlite": "IN (SELECT value FROM json_each($1))"}


def id_list(values: Sequence[Any]) -> Any:
    """A list of ids (or days) as one parameter, each once, in order: an array on PostgreSQL,
    a JSON text on SQLite (days as ISO text)."""
    ordered = sorted(set(values))
    if is_sqlite():
        return json.dumps([v.isoformat() if isinstance(v, date) else v for v in ordered])
    return ordered


class Database:
    """Owns the pool and serialises writers where the engine needs it (SQLite)."""

    def __init__(self) -> None:
        caches.forget_all()
        self.engine = current_engine()
        self.sqlite = isinstance(self.engine, SQLiteEngine)
        # SQLite has one writer at a time anyway; queueing writers in-process is ~10x faster
        # than letting them fight over the file lock (each loser of it sleeps and retries).
        self._write_lock = asyncio.Lock()
        # Kept between SQLite writes once started; closed by close() (its thread is not a daemon).
        self._writer: SQLiteWriter | None = None
        # SQLite: a shared lock on `<file>.lock` while started, so `restore` knows it is in use.
        self._in_use: int | None = None

    async def start(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            quiet_pool_logs()
            for engine in (self.engine, *self.engine.extra_nodes.values()):
                await engine.start_connection_pool(max_size=POOL_SIZE_MAX, reset=_keep_session)
        elif isinstance(self.engine, SQLiteEngine):
            self._writer = SQLiteWriter(self.engine)
            if self._in_use is None:
                self._in_use = sqlite_files.hold_shared(self.engine.path)

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            for engine in (self.engine, *self.engine.extra_nodes.values()):
                await close_pool(engine)
        elif self._writer is not None:
            async with self._write_lock:
                await self._writer.drop()
                self._writer = None
        if self._in_use is not None:
            sqlite_files.release(self._in_use)
            self._in_use = None

    def pool_usage(self) -> tuple[int, int] | None:
        """PostgreSQL: (connections checked out, connections open); None on SQLite."""
        pool = getattr(self.engine, "pool", None) if not self.sqlite else None
        if pool is None:
            return None
        size = pool.get_size()
        return size - pool.get_idle_size(), size

    @contextlib.asynccontextmanager
    async def write(self, *, generic_plans: bool = False) -> AsyncIterator[None]:
        """One write transaction; nesting is a bug, so it is refused. `generic_plans`: its
        statements run on the plans each connection keeps (PostgreSQL; the grading committer's,
        see GENERIC_PLANS_BEGIN)."""
        if self.sqlite:
            async with self._write_lock:
                if self._writer is None:
                    async with self.engine.transaction(allow_nested=False):
                        yield
                else:
                    async with KeptConnectionTransaction(self.engine, self._writer):  # type: ignore[arg-type]
                        yield
        else:
            engine = self.engine
            transaction = (
                engine.generic_plans_transaction()
                if generic_plans and isinstance(engine, HardenedPostgresEngine)
                else engine.transaction(allow_nested=False)
            )
            async with transaction:
                with sql.writes_wait():  # the transaction's queue of writes (sql.later)
                    yield
                    await sql.flush(before="COMMIT")  # what is left goes before COMMIT

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        """A consistent snapshot for multi-statement reads."""
        if self.sqlite:
            async with self.engine.transaction(transaction_type=TransactionType.deferred):
                yield
        else:
            async with self.engine.transaction():
                yield


async def close_pool(engine: PostgresEngine) -> None:
    """Close the pool gracefully, but within POOL_CLOSE_SECONDS: a connection still checked
    out then (a request or background task stuck on it) is terminated, not waited for."""
    pool, engine.pool = engine.pool, None
    if pool is None:
        return
    seconds = POOL_CLOSE_SECONDS
    try:
        await asyncio.wait_for(pool.close(), seconds)
    except TimeoutError:
        # asyncpg's close() terminated every connection when it was cancelled.
        log.warning(
            "database pool still busy %.0f s after shutdown began; connections cut", seconds
        )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without asyncpg's `RESET ALL; SELECT pg_advisory_unlock_all(); ...` round trip.

    asyncpg still rolls back any transaction left open before calling this. Nothing here sets
    session state: the sealer's advisory lock is transaction-scoped, no code LISTENs or SETs.
    """


def is_transient(error: BaseException) -> bool:
    """Failures that a bounded retry of the whole transaction may cure."""
    if isinstance(
        error,
        asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError,
    ):
        return True
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def is_unique_violation(error: BaseException) -> bool:
    if isinstance(error, asyncpg.exceptions.UniqueViolationError):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)


async def ping() -> None:
    """One round trip to the database; raises when it is unreachable."""
    await current_engine().run_ddl("SELECT 1")
