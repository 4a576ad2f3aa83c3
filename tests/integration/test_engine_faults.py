"""A write transaction whose connection dies gives its pool slot back and leaves no transaction
behind in the task, so the same task (a retry, the next sealer pass) can write again."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ledger.services.container import Services
from ledger.store import engine, sql
from ledger.store.engine import POOL_SIZE_MAX

pytestmark = pytest.mark.postgres


async def _die_inside_a_write(services: Services) -> None:
    # The backend is gone mid-transaction: the statement's own error surfaces, not the failed
    # ROLLBACK's (asyncpg reports a closed connection as an InterfaceError).
    died = (asyncpg.exceptions.PostgresError, asyncpg.exceptions.ConnectionDoesNotExistError)
    with pytest.raises(died) as raised:
        async with services.db.write():
            await sql.fetch("SELECT pg_terminate_backend(pg_backend_pid())")
    assert "Transaction.rollback" not in str(raised.value)


async def test_a_connection_killed_inside_a_write_frees_its_slot_and_the_task(
    services: Services,
) -> None:
    for _ in range(POOL_SIZE_MAX + 2):  # more deaths than the pool has connections
        await _die_inside_a_write(services)
    assert services.db.engine.current_transaction.get() is None

    async def write_once() -> int:
        async with services.db.write():
            rows = await sql.fetch("SELECT 1 AS one")
        return int(rows[0]["one"])

    # Every slot is usable again: as many concurrent writes as the pool holds all finish.
    results = await asyncio.wait_for(
        asyncio.gather(*(write_once() for _ in range(POOL_SIZE_MAX))), timeout=20
    )
    assert results == [1] * POOL_SIZE_MAX


async def test_pooled_connections_that_died_idle_fail_at_begin_and_come_back(
    services: Services,
) -> None:
    """Every idle connection of the pool is killed from outside (a PostgreSQL restart does
    this): asyncpg notices the closed sockets, and the pool heals instead of shrinking."""
    pool = services.db.engine.pool
    held = [await pool.acquire() for _ in range(POOL_SIZE_MAX)]
    pids = [connection.get_server_pid() for connection in held]
    for connection in held:
        await pool.release(connection)
    killer = await asyncpg.connect(services.db.engine.config["dsn"])
    try:
        await killer.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids)
    finally:
        await killer.close()
    await asyncio.sleep(0.2)
    failures = 0
    for _ in range(POOL_SIZE_MAX):
        try:
            async with services.db.write():
                await sql.fetch("SELECT 1")
        except (asyncpg.exceptions.PostgresError, asyncpg.exceptions.InterfaceError, OSError):
            failures += 1
    assert services.db.engine.current_transaction.get() is None

    async def write_once() -> None:
        async with services.db.write():
            await sql.fetch("SELECT 1")

    await asyncio.wait_for(
        asyncio.gather(*(write_once() for _ in range(POOL_SIZE_MAX))), timeout=20
    )


# What PostgreSQL sends every connection at a fast shutdown, before it closes the socket:
# ErrorResponse, FATAL 57P01. An idle asyncpg connection that has read it but not yet the end
# of the stream is left waiting for a ReadyForQuery that never comes (protocol state 2), and
# its next statement fails with "cannot switch to state 15; another operation (2) is in
# progress". Fed here to idle connections, without the close that follows it, to hold that
# moment still.
def _fatal_admin_shutdown() -> bytes:
    fields = b"".join(
        kind + text.encode() + b"\0"
        for kind, text in (
            (b"S", "FATAL"),
            (b"V", "FATAL"),
            (b"C", "57P01"),
            (b"M", "terminating connection due to administrator command"),
        )
    )
    body = fields + b"\0"
    return b"E" + (len(body) + 4).to_bytes(4, "big") + body


async def _every_slot_connected_then_cut(services: Services) -> None:
    pool = services.db.engine.pool
    held = [await pool.acquire() for _ in range(POOL_SIZE_MAX)]
    for connection in held:
        await pool.release(connection)
    for holder in pool._holders:  # asyncpg keeps no public list of its idle connections
        holder._con._protocol.data_received(_fatal_admin_shutdown())


async def test_a_write_replaces_pooled_connections_left_mid_operation_and_the_pool_closes(
    services: Services,
) -> None:
    """Issue 12 item 14: BEGIN on such a connection failed, and stock Piccolo kept it checked
    out (its __aexit__ never runs when __aenter__ fails): the write failed, the slot was lost,
    and Pool.close() at shutdown waited for it forever."""
    await _every_slot_connected_then_cut(services)
    async with services.db.write():
        rows = await sql.fetch("SELECT 1 AS one")
    assert rows[0]["one"] == 1
    assert services.db.engine.current_transaction.get() is None
    await asyncio.wait_for(services.db.close(), timeout=engine.POOL_CLOSE_SECONDS + 5)


async def test_a_read_on_a_connection_left_mid_operation_terminates_it(
    services: Services,
) -> None:
    """Outside a transaction the pool's release checked nothing: the broken connection went
    back and failed every read it was given until the socket's end was read."""
    await _every_slot_connected_then_cut(services)
    for _ in range(POOL_SIZE_MAX):
        with pytest.raises(asyncpg.exceptions.InternalClientError):
            await sql.fetch("SELECT 1 AS one")
    # Every slot at once: none of them is one of the broken connections any more.
    rows = await asyncio.wait_for(
        asyncio.gather(
            *(sql.fetch("SELECT 1 AS one, pg_sleep(0.05)") for _ in range(POOL_SIZE_MAX))
        ),
        timeout=20,
    )
    assert [row[0]["one"] for row in rows] == [1] * POOL_SIZE_MAX


async def test_shutdown_cuts_a_connection_still_checked_out(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task stuck holding a connection does not keep the process from exiting."""
    monkeypatch.setattr(engine, "POOL_CLOSE_SECONDS", 0.2)
    stuck = await services.db.engine.pool.acquire()
    await asyncio.wait_for(services.db.close(), timeout=10)
    with pytest.raises(asyncpg.exceptions.InterfaceError):  # cut, and its slot given back
        await stuck.fetch("SELECT 1")
