"""The SQLite writer connection, called on the event loop's own thread.

aiosqlite runs every statement on a helper thread and wakes the event loop with the result. For
the process's one writer that hand-off is the bottleneck: a write transaction holds SQLite's
write lock across ~12 statements, and at each one the loop goes off to serve other requests
before it comes back, so every other write waits for all of that (the embedded benchmark: the
process half idle, 190 credits/s, p50 330 ms). A credit's statements take microseconds each in
SQLite, so here they run directly, and a write transaction finishes without giving the loop
away. The one wait that can be long, for another process's write lock, happens only at
`BEGIN IMMEDIATE` and is retried with `asyncio.sleep` instead (`busy_timeout` is 0 here), so the
loop is never blocked by it.

Only the part of aiosqlite's interface that Piccolo and `store.sql` use is here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence
from typing import Any


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._itself().__await__()

    async def _itself(self) -> InlineCursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int) -> list[Any]:
        return self._cursor.fetchmany(size)

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """`await connection.execute(...)` and `async with connection.execute(...) as cursor`, as
    with aiosqlite; the statement has run when `execute` returns."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    def open(cls, **connection_kwargs: Any) -> InlineConnection:
        connection = sqlite3.connect(**connection_kwargs)
        connection.execute("PRAGMA busy_timeout = 0")
        for pragma in ("foreign_keys = 1", "journal_mode = WAL", "synchronous = NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        return cls(connection)

    @property
    def row_factory(self) -> Any:
        return self._connection.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._connection.row_factory = factory

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return InlineCursor(self._connection.execute(sql, parameters))

    async def commit(self) -> None:
        self._connection.commit()

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        self._connection.close()
