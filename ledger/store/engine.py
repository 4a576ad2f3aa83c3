"""Engines for both databases, and the one way to open a write transaction."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType

DEFAULT_DATABASE_URL = "var/greenledger.sqlite"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POOL_SIZE_MAX = 10
# Deadlocks and serialisation failures are retried a bounded number of times, then surface.
TRANSIENT_RETRIES = 3


class SafeSQLiteTransaction(SQLiteTransaction):
    """Stock Piccolo leaks the connection's thread when BEGIN fails, and the process hangs."""

    async def begin(self) -> None:
        try:
            await super().begin()  # type: ignore[no-untyped-call]
        except BaseException:
            await self.connection.close()
            raise


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


def engine_from_url(url: str) -> Engine[Any]:
    """`postgresql://...` selects PostgreSQL; anything else is an SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    path = sqlite_path(url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return HardenedSQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///").removeprefix("sqlite://")


def current_engine() -> Engine[Any]:
    engine = engine_finder()
    assert engine is not None, "piccolo_conf.py defines DB"
    return engine


def is_sqlite() -> bool:
    return isinstance(current_engine(), SQLiteEngine)


class Database:
    """Owns the pool and serialises writers where the engine needs it (SQLite)."""

    def __init__(self) -> None:
        self.engine = current_engine()
        self.sqlite = isinstance(self.engine, SQLiteEngine)
        # SQLite has one writer at a time anyway; queueing writers in-process is ~10x faster
        # than letting them fight over the file lock (notes/STACK.md §5.6).
        self._write_lock = asyncio.Lock()

    async def start(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool(max_size=POOL_SIZE_MAX)

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.close_connection_pool()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """One write transaction; nesting is a bug, so it is refused."""
        if self.sqlite:
            async with self._write_lock, self.engine.transaction(allow_nested=False):
                yield
        else:
            async with self.engine.transaction(allow_nested=False):
                yield

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        """A consistent snapshot for multi-statement reads."""
        if self.sqlite:
            async with self.engine.transaction(transaction_type=TransactionType.deferred):
                yield
        else:
            async with self.engine.transaction():
                yield


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
