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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from ledger.store.tables import Entry

Row = Mapping[str, Any]
_PLACEHOLDER = re.compile(r"\$(\d+)")


async def fetch(sql: str, *args: Any) -> Sequence[Row]:
    """All rows; inside the caller's transaction when there is one."""
    engine = Entry._meta.db
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
        async with engine.pool.acquire() as connection:
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
