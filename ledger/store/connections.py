"""Pooled PostgreSQL connections: given back when sound, terminated when an operation on them
was interrupted.

The pool does not reset a connection on release (docs/decisions/2026-11-25-constant-sql-on-the-
credit-path.md: that reset was a round trip per transaction), so nothing else would notice one
left mid-operation; handed out again, it fails its next statement ("cannot switch to state 15;
another operation (2) is in progress"). docs/decisions/2026-12-06-broken-pool-connections.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg


async def give_back(pool: Any, connection: Any, broken: bool) -> None:
    """Return a connection to its pool, or, if `broken`, terminate it (the pool opens a new
    one when it needs one). Without a pool the connection is closed."""
    if broken:
        # asyncpg frees a terminated connection's pool slot itself; a connection that closed
        # on its own has already been released, and terminating it refuses (InterfaceError).
        with contextlib.suppress(asyncpg.exceptions.InterfaceError):
            connection.terminate()
    if pool is not None:
        await pool.release(connection)
    elif not broken:
        await connection.close()


@contextlib.asynccontextmanager
async def pooled(pool: Any) -> AsyncIterator[Any]:
    """`pool.acquire()`, except that a connection whose operation was interrupted is
    terminated instead of being handed to the next caller."""
    connection = await pool.acquire()
    broken = False
    try:
        yield connection
    except BaseException as error:
        broken = interrupted(error)
        raise
    finally:
        await give_back(pool, connection, broken=broken)


def interrupted(error: BaseException) -> bool:
    """Whether `error` may have left its connection mid-operation.

    A statement error PostgreSQL reported (a unique violation, a deadlock) arrives once the
    server is ready for the next statement: that connection is sound. A refusal the code
    raised between statements leaves it sound too. Anything else that can surface from a
    query (asyncpg's client-side errors, a lost or cut connection, a cancelled or timed-out
    await) may leave the protocol waiting for replies that belong to no one."""
    if isinstance(
        error,
        asyncpg.exceptions.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError,
    ):
        return True
    if isinstance(error, asyncpg.exceptions.PostgresError):
        return False
    return isinstance(
        error,
        asyncpg.exceptions.InterfaceError
        | asyncpg.exceptions.InternalClientError
        | OSError
        | asyncio.CancelledError
        | TimeoutError,
    )


def is_stale_connection(error: BaseException) -> bool:
    """BEGIN failed because the connection was already unusable, not because of anything sent."""
    return isinstance(
        error,
        asyncpg.exceptions.InterfaceError
        | asyncpg.exceptions.InternalClientError
        | asyncpg.exceptions.PostgresConnectionError
        | asyncpg.exceptions.OperatorInterventionError
        | ConnectionError,
    )


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached or cut the connection (a restart, a failover): the
    outcome of the request is unknown and the same request may be sent again."""
    return is_stale_connection(error) and not isinstance(
        error, asyncpg.exceptions.ClientConfigurationError
    )


class OneLineWhenUnavailable(logging.Filter):
    """asyncpg's pool logs a traceback each time it fails to reopen its minimum of connections
    (`_maintain_min_size`), every few milliseconds while the database restarts: one line each
    instead, naming the error, when the database is what failed."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_unavailable(error):
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_pool_logs() -> None:
    """Once per process (idempotent)."""
    pool_log = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, OneLineWhenUnavailable) for f in pool_log.filters):
        pool_log.addFilter(OneLineWhenUnavailable())
