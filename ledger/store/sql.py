"""Constant SQL for the hot paths, sent on the open transaction's own connection.

Piccolo rebuilds every query from Python objects on each call (the benchmark's profile: over
half of a credit's Python time), although a credit's SQL text never changes. Statements here
are plain strings written once with PostgreSQL's `$1` placeholders; SQLite reads the same text
with `?1` (numbered parameters are standard SQLite). asyncpg prepares each text once per
connection and reuses it. Values go in and come out exactly as through `Table.raw` on the same
connection (the same drivers, the same adapters Piccolo registers), so rows written here read
back identically through Piccolo and the other way round.

Only plain, portable SQL belongs here: no casts, no engine-specific functions. Anything that
must differ between the engines stays with Piccolo or in the module that owns it.

Writes whose rows nobody reads back (`later`) wait, inside a PostgreSQL write transaction, and
ride on the transaction's next INSERT as `WITH w0 AS (…), w1 AS (…) INSERT …`, or go as one
such statement before anything else is sent and before COMMIT: one round trip for several
(docs/decisions/2026-12-04-writes-ride-together.md). On SQLite, where a statement is a function
call and not a round trip, they are sent at once.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from ledger.store.connections import pooled
from ledger.store.replica import on_replica_or_primary, replica_of
from ledger.store.tables import Entry

Row = Mapping[str, Any]
_PLACEHOLDER = re.compile(r"\$(\d+)")


Write = tuple[str, tuple[Any, ...]]
_waiting: ContextVar[list[Write] | None] = ContextVar("greenledger_waiting_writes", default=None)


@contextlib.contextmanager
def writes_wait() -> Iterator[None]:
    """Inside one PostgreSQL write transaction: `later` writes wait (`flush` before COMMIT)."""
    token = _waiting.set([])
    try:
        yield
    finally:
        _waiting.reset(token)


async def later(sql: str, *args: Any) -> None:
    """An INSERT/UPDATE whose rows the caller does not need: sent with the next statement."""
    waiting = _waiting.get()
    if waiting is None:
        await fetch(sql, *args)
    else:
        waiting.append((sql, args))


def waiting_arguments(sql: str) -> list[tuple[Any, ...]]:
    """The arguments of every waiting write with this text (none outside a waiting scope).

    One statement cannot change a row twice (an upsert raises "ON CONFLICT DO UPDATE command
    cannot affect row a second time"), so a caller about to queue an upsert whose row may
    already have one waiting checks here and flushes first."""
    waiting = _waiting.get()
    return [arguments for text, arguments in waiting or () if text == sql]


async def flush() -> None:
    """Send the waiting writes now (one statement), e.g. before COMMIT."""
    taken = _take_waiting()
    if taken is not None:
        texts, values = taken
        await _send(carrying(texts, "SELECT 1"), *values)


async def fetch(sql: str, *args: Any) -> Sequence[Row]:
    """All rows; inside the caller's transaction when there is one. Waiting writes go first:
    in the same statement when this one is an INSERT (it reads no table they change), else as
    one statement of their own."""
    if sql.startswith("INSERT "):
        taken = _take_waiting()
        if taken is not None:
            texts, values = taken
            return await _send(carrying(texts, sql), *args, *values)
    await flush()
    return await _send(sql, *args)


def _take_waiting() -> tuple[tuple[str, ...], list[Any]] | None:
    """The waiting writes' texts and their arguments in one list, and none left waiting."""
    waiting = _waiting.get()
    if not waiting:
        return None
    writes = tuple(waiting)
    waiting.clear()
    return tuple(text for text, _ in writes), [value for _, args in writes for value in args]


@functools.lru_cache(maxsize=128)
def carrying(writes: tuple[str, ...], main: str) -> str:
    """`WITH w0 AS (write), … main`: main keeps $1…$n, each write's numbers follow on."""
    offset = _parameters(main)
    parts = []
    for index, text in enumerate(writes):
        parts.append(f"w{index} AS ({_shifted(text, offset)})")
        offset += _parameters(text)
    return f"WITH {', '.join(parts)} {main}"


def _shifted(sql: str, by: int) -> str:
    return _PLACEHOLDER.sub(lambda number: f"${int(number[1]) + by}", sql)


def _parameters(sql: str) -> int:
    return max((int(number) for number in _PLACEHOLDER.findall(sql)), default=0)


async def _send(sql: str, *args: Any) -> Sequence[Row]:
    engine = Entry._meta.db
    if replica_of(engine) is None:  # the credit path: no closures
        return await _send_on(engine, sql, *args)

    async def there(replica: Any) -> Sequence[Row]:
        return await _send_on(replica, sql, *args)

    return await on_replica_or_primary(engine, there, lambda: _send_on(engine, sql, *args))


async def _send_on(engine: Any, sql: str, *args: Any) -> Sequence[Row]:
    transaction = engine.current_transaction.get()
    if isinstance(engine, PostgresEngine):
        if transaction is not None:
            rows: Sequence[Row] = await transaction.connection.fetch(sql, *args)
            return rows
        if engine.pool is None:
            connection = await engine.get_new_connection()
            try:
                rows = await connection.fetch(sql, *args)
                return rows
            finally:
                await connection.close()
        async with pooled(engine.pool) as connection:
            rows = await connection.fetch(sql, *args)
            return rows
    assert isinstance(engine, SQLiteEngine), "the two engines are PostgreSQL and SQLite"
    text = _sqlite_text(sql)
    if transaction is not None:
        return await _sqlite_fetch(transaction.connection, text, args)
    connection = await engine.get_connection()
    try:
        rows = await _sqlite_fetch(connection, text, args)
        await connection.commit()
        return rows
    finally:
        await connection.close()


async def fetch_one(sql: str, *args: Any) -> Row | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def _sqlite_fetch(connection: Any, text: str, args: Sequence[Any]) -> Sequence[Row]:
    async with connection.execute(text, args) as cursor:
        rows: Sequence[Row] = await cursor.fetchall()
        return rows


@functools.lru_cache(maxsize=256)
def _sqlite_text(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)
