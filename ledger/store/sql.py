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

Writes whose rows nobody reads back (`later`) wait, inside a PostgreSQL write transaction, in
the transaction's queue. They leave it in one statement, at a place that says so:
`fetch_carrying` (an INSERT that takes them along as `WITH w0 AS (…), w1 AS (…) INSERT …`), or
`flush` (Database.write() before COMMIT; a caller about to change a row twice). Any other
statement, a Piccolo query included, flushes them first, so a read always sees every earlier
write. A queued write that fails fails the statement that sent it; the error carries a note
naming that write (its SQL's first line), not only the statement it rode with
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
    """An INSERT/UPDATE whose rows the caller does not need: queued (in a PostgreSQL write
    transaction) until a `fetch_carrying`, a `flush` or any other statement sends it."""
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


async def flush(before: str = "COMMIT") -> None:
    """Send the queued writes now, as one statement (`before` says what they go ahead of, for
    the note on a failure): before COMMIT, before another statement, or on a caller's word."""
    taken = _take_waiting()
    if taken is not None:
        texts, values = taken
        await _send_carried(texts, "SELECT 1", values, (), before)


async def fetch_carrying(sql: str, *args: Any) -> Sequence[Row]:
    """An INSERT that takes the queued writes along, in one statement and one round trip.

    Only an INSERT … VALUES may: it reads no table they change (all parts of one statement see
    the same snapshot, so a carried write is invisible to the statement carrying it)."""
    if not sql.startswith("INSERT "):
        raise ValueError(f"only an INSERT carries queued writes, not {_first_line(sql)!r}")
    taken = _take_waiting()
    if taken is None:
        return await _send(sql, *args)
    texts, values = taken
    return await _send_carried(texts, sql, values, args, sql)


async def fetch(sql: str, *args: Any) -> Sequence[Row]:
    """All rows; inside the caller's transaction when there is one. Queued writes go first, as
    one statement of their own."""
    if _waiting.get():
        await flush(before=sql)
    return await _send(sql, *args)


async def _send_carried(
    texts: tuple[str, ...], main: str, values: list[Any], args: Sequence[Any], before: str
) -> Sequence[Row]:
    try:
        return await _send(carrying(texts, main), *args, *values)
    except Exception as error:
        _name_failed_writes(error, texts, before)
        raise


def _name_failed_writes(error: Exception, texts: tuple[str, ...], before: str) -> None:
    """A note on a database's error naming the queued write that failed: the one whose table
    the error names; when it names no table, every write the statement carried (nothing when
    it names the carrying statement's own table and no queued write's)."""
    if not hasattr(error, "table_name"):  # not an error the server reported (asyncpg's)
        return
    table = error.table_name
    failed = [text for text in texts if table is None or _table(text) == table]
    if not failed:
        return
    names = "; ".join(f"`{_first_line(text)}`" for text in dict.fromkeys(failed))
    if table is None:
        error.add_note(f"sent ahead of `{_first_line(before)}` with the queued writes {names}")
    else:
        error.add_note(f"the queued write {names} failed (sent ahead of `{_first_line(before)}`)")


_TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


def _table(sql: str) -> str | None:
    found = _TARGET.match(sql)
    return found[1] if found else None


def _first_line(sql: str) -> str:
    line = sql.strip().splitlines()[0] if sql.strip() else sql
    return line if len(line) <= 100 else line[:97] + "..."


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
