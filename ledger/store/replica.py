"""Reads that may be answered by a streaming replica (GREENLEDGER_REPLICA_URL).

Only code that says so reads from the replica: reports, the boards' SQL answers, account
histories and `check-projections`, each inside `replica_reads()`. Everything else, and anything
inside a write transaction on the primary, reads the primary: decisions (balances before a
spend, caps, stock, idempotency records) and replies that must show their own write (a
redemption's balance after). A replica that cannot be reached is passed over for the primary,
with a warning. docs/decisions/2026-12-06-past-one-box.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from ledger.store.connections import is_unavailable

REPLICA = "replica"  # the primary engine's extra node
# check-projections waits this long for the replica to replay what the primary has written.
CATCH_UP_SECONDS = 30.0

log = logging.getLogger(__name__)
_on_replica: ContextVar[bool] = ContextVar("greenledger_replica_reads", default=False)

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block (outside a primary transaction) go to the replica, if there is one."""
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


def on_replica(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The decorated coroutine function's reads go to the replica (see `replica_reads`)."""

    @functools.wraps(function)
    async def reading(*args: P.args, **kwargs: P.kwargs) -> R:
        with replica_reads():
            return await function(*args, **kwargs)

    return reading


def replica_of(engine: Any) -> Any | None:
    """The engine's replica, if this read may go there now: asked for, configured, and not
    inside a transaction on the primary (whose reads belong with its writes)."""
    if not _on_replica.get():
        return None
    replica = getattr(engine, "extra_nodes", {}).get(REPLICA)
    if replica is None or engine.current_transaction.get() is not None:
        return None
    return replica


async def on_replica_or_primary(
    engine: Any, read: Callable[[Any], Awaitable[R]], primary: Callable[[], Awaitable[R]]
) -> R:
    """`read(replica)` when this read may go to the replica, else (or when the replica cannot be
    reached) `primary()`."""
    replica = replica_of(engine)
    if replica is None:
        return await primary()
    try:
        return await read(replica)
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning(
            "replica unavailable, reading from the primary: %s: %s", type(error).__name__, error
        )
    return await primary()


async def wait_for_replay(engine: Any, within_seconds: float = CATCH_UP_SECONDS) -> None:
    """Until the replica has replayed everything the primary had written when this was called
    (no-op without a replica). TimeoutError if it has not within `within_seconds`."""
    replica = getattr(engine, "extra_nodes", {}).get(REPLICA)
    if replica is None:
        return
    written = (await _fetch(engine, "SELECT pg_current_wal_lsn()::text AS lsn"))[0]["lsn"]
    deadline = time.monotonic() + within_seconds
    while True:
        rows = await _fetch(
            replica,
            "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false) AS done",
            written,
        )
        if rows[0]["done"]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the replica has not replayed the primary's writes up to {written} "
                f"within {within_seconds:.0f} s"
            )
        await asyncio.sleep(0.01)


async def _fetch(engine: Any, sql: str, *args: Any) -> Any:
    if engine.pool is not None:
        async with engine.pool.acquire() as connection:
            return await connection.fetch(sql, *args)
    connection = await engine.get_new_connection()
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()
